import Foundation

/// What the advisor answers (``AnswerStep/advise``): a read-only codex session read a TODO that the rules could not
/// get unstuck (its prompt, the tail of its transcript, the diff so far, the failing output, the recoveries tried)
/// and says what to do next: an instruction Drover sends into the live thread, or a question only a human can
/// answer, which goes to the inbox.
public struct Advice: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case diagnosis, nextInstruction = "next_instruction", needsHuman = "needs_human", questionForHuman = "question_for_human",
            reason
    }

    /// What is going wrong, in a few sentences.
    public var diagnosis: String
    /// What the session should do next, written to the agent; empty when a human must answer first.
    public var nextInstruction: String
    /// Whether only a human can take the TODO further.
    public var needsHuman: Bool
    /// The question for the human, when ``needsHuman``; empty otherwise.
    public var questionForHuman: String
    /// Why this advice.
    public var reason: String

    public init(diagnosis: String, nextInstruction: String, needsHuman: Bool, questionForHuman: String, reason: String) {
        self.diagnosis = diagnosis
        self.nextInstruction = nextInstruction
        self.needsHuman = needsHuman
        self.questionForHuman = questionForHuman
        self.reason = reason
    }

    func problems() -> [PlanProblem] {
        var problems: [PlanProblem] = []
        func empty(_ text: String) -> Bool { text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        if empty(diagnosis) { problems.append(.init(path: "diagnosis", message: "must say what is going wrong")) }
        if needsHuman && empty(questionForHuman) {
            problems.append(.init(path: "question_for_human", message: "must ask the human something when needs_human is true"))
        }
        if !needsHuman && empty(nextInstruction) {
            problems.append(.init(path: "next_instruction", message: "must tell the agent what to do when no human is needed"))
        }
        return problems
    }
}
