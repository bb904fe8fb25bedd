import DroverProtocol
import Foundation

/// The texts a session's supervisor sends the model that are not the TODO's own: the opening prompt with its context
/// document, and what it says when a step's answer cannot be used. Pure, so the words are tested without codex.
enum SessionPrompts {
    /// The heading between the context document and the TODO's prompt.
    static let taskHeading = "# Your task"

    /// The next turn's prompt when the recovery came with advice: the advisor's instruction (or an operator's answer
    /// to its question) first, then what the rule would have said.
    static func advice(_ instruction: String, after prompt: String) -> String {
        "Advice from a reviewer who read your work so far: \(instruction)\n\n\(prompt)"
    }

    /// The first prompt of a thread: the context document (a job's investigation, the plan's context), then the
    /// TODO's prompt under one heading. Only new threads get it; turns on the same thread already have it.
    static func opening(prompt: String, context: String?) -> String {
        guard let context, !context.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return prompt }
        let document = context.hasSuffix("\n") ? context : context + "\n"
        return "\(document)\n---\n\n\(taskHeading)\n\n\(prompt)"
    }

    /// The prompt that sends an unusable answer back: what was wrong, exactly as the validator said it, and what to
    /// answer instead. `answer` is the number of the answer just read, out of `attempts`.
    static func unusableAnswer(_ error: StepAnswerError, answer: Int, attempts: Int) -> String {
        """
        Your answer could not be used (answer \(answer) of \(attempts)). Its problems:
        \(error.description)
        Answer again with only the JSON object of the schema you were given, with these problems fixed: no other text.
        """
    }

    /// Why a session failed when its last answer could not be used either.
    static func notUsable(_ error: StepAnswerError, answers: Int) -> String {
        "the \(error.step.rawValue) answer was not usable after \(answers) answer\(answers == 1 ? "" : "s"):\n\(error.description)"
    }

    /// The agent event that tells operators an answer was sent back, with the problems as evidence.
    static func unusableEvent(_ error: StepAnswerError, answer: Int, attempts: Int) -> AgentEvent {
        AgentEvent(
            kind: .detected,
            text: "\(Detection.invalidAnswer): the \(error.step.rawValue) answer \(answer) of \(attempts) could not be used\n"
                + error.description,
            detection: .invalidAnswer
        )
    }

    /// A turn's input with an operator's guidance first: the guidance, as the operator wrote it, then `prompt`.
    /// `prompt` alone when there is none; the guidance alone when `prompt` is empty (steered into a running turn).
    static func guided(_ guidance: [String], then prompt: String) -> String {
        guard !guidance.isEmpty else { return prompt }
        let said = guidance.map { "> " + $0.replacingOccurrences(of: "\n", with: "\n> ") }.joined(separator: "\n\n")
        let heading = "The operator overseeing this task says:\n\(said)\n\nFollow this guidance."
        return prompt.isEmpty ? heading : "\(heading)\n\n\(prompt)"
    }

    /// The first prompt of a session that goes on on the thread of the one before (paused by an operator, parked by
    /// a usage limit, its worker lost): the thread has the task and its conversation, so this says only that it goes
    /// on, where the files are now, and what the coordinator told of what happened meanwhile (`handover`).
    static func resumed(workdir: String, handover: String?) -> String {
        var text =
            "Your session was stopped (paused by an operator, stopped by a usage limit, or its machine was lost) and "
            + "goes on now, on this same thread, perhaps on another machine. Your work so far is in the files, in the "
            + "working directory \(workdir) (it may not be where it was before: use paths relative to it); there may "
            + "be more of it than this thread shows. Check where you were, then continue the task and finish it."
        if let handover, !handover.isEmpty { text += "\n\nWhat happened meanwhile:\n\(handover)" }
        return text
    }

    /// The turn that follows when guidance came as the session would have finished.
    static let beforeFinishing = "Before you finish: take the operator's guidance above into account, then finish the task."

    /// The agent event of guidance given to the session: into its running turn, or as its next turn's input.
    static func steeredEvent(_ text: String, intoRunningTurn: Bool) -> AgentEvent {
        AgentEvent(kind: .steered, text: (intoRunningTurn ? "into the running turn: " : "as the next turn's input: ") + text)
    }
}
