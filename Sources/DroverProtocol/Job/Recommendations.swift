import Foundation

/// What a plan's AI review answers (``AnswerStep/recommend``): a codex session read the plan's report and the
/// repository, and recommends tests to add, notes for deploying the work and follow-up work. It is the model's
/// opinion: nothing in it was checked by Drover, and every rendering says so (``PlanReport/AIReview``).
public struct Recommendations: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case summary, tests, deployment, followUp = "follow_up"
    }

    /// The reviewer's view of the work in two or three sentences.
    public var summary: String
    /// Tests to add: what to test and where.
    public var tests: [String]
    /// What to mind when deploying or releasing the work.
    public var deployment: [String]
    /// Work left to do after this plan.
    public var followUp: [String]

    public init(summary: String, tests: [String], deployment: [String], followUp: [String]) {
        self.summary = summary
        self.tests = tests
        self.deployment = deployment
        self.followUp = followUp
    }

    /// How many recommendations it makes, in all.
    public var count: Int { tests.count + deployment.count + followUp.count }

    func problems() -> [PlanProblem] {
        var problems: [PlanProblem] = []
        if summary.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append(.init(path: "summary", message: "must say in two or three sentences what the review found"))
        }
        for (path, items) in [("tests", tests), ("deployment", deployment), ("follow_up", followUp)] {
            for (index, item) in items.enumerated() where item.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                problems.append(.init(path: "\(path)[\(index)]", message: "is empty: leave it out, or say what to do"))
            }
        }
        return problems
    }
}
