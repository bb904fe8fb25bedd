import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct SteerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Give a running codex session guidance.",
        discussion: """
            The text goes into the session's running turn when it can take it (app-server mode, `turn/steer`), \
            otherwise it opens the next turn's input (exec mode, or between turns); a session about to finish runs one \
            more turn with it. Recorded as `todo.steered`; the session's `agent.steered` event says how it arrived. \
            Only a running TODO with a prompt can be steered. Example: drover steer nightly/build "use the v2 API"
            """
    )

    @Argument(help: "The TODO, as PLAN/TODO.") var todo: String
    @Argument(help: "The guidance, 1 byte to 16 KiB.") var text: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        _ = try TodoCommand.key(todo)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("say something: the guidance is empty")
        }
        guard text.utf8.count <= TodoRequest.maxSteerBytes else {
            throw ValidationError("the guidance is \(text.utf8.count) bytes: at most \(TodoRequest.maxSteerBytes) (16 KiB)")
        }
    }

    func run() async throws {
        let key = try TodoCommand.key(todo)
        let by = ProcessInfo.processInfo.environment["USER"].map { "\($0) (drover steer)" } ?? "drover steer"
        let reply = try await location.controlClient().request(
            .todo,
            TodoRequest(plan: key.plan, todo: key.todo, action: .steer, text: text, by: by),
            as: TodoReply.self
        )
        if json {
            printJSON(reply)
            return
        }
        let status = reply.todo
        print("\(status.plan)/\(status.id) [\(status.state)]: guidance sent" + (status.worker.map { " to \($0)" } ?? ""))
    }
}
