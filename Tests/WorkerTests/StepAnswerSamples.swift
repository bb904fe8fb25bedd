import DroverProtocol
import Foundation

/// Step answers for the tests: a plan that can be used, and plans that cannot, as the JSON text a model would send.
enum StepAnswerSamples {
    static func todo(_ id: String, dependsOn: [String] = []) -> PlannedWork.PlannedTodo {
        PlannedWork.PlannedTodo(id: id, title: "Do \(id)", prompt: "Do \(id).", dependsOn: dependsOn, checks: ["test -f \(id).txt"])
    }

    static func json(_ work: PlannedWork) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(work), as: UTF8.self)
    }

    /// A plan of two TODOs, b after a.
    static let plan = json(PlannedWork(title: "Two steps", todos: [todo("a"), todo("b", dependsOn: ["a"])]))
    /// a and b wait for each other.
    static let cycle = json(PlannedWork(title: "Two steps", todos: [todo("a", dependsOn: ["b"]), todo("b", dependsOn: ["a"])]))
    /// What the validator says of ``cycle``.
    static let cycleProblem = "todos[0].depends_on: dependency cycle: a -> b -> a (each depends on the next)"
}
