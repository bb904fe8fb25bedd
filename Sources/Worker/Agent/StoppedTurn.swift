import DroverProtocol
import Foundation

/// Why a turn that completed left the TODO's checks failing, read from what the agent did and said: it claims to be
/// done, and the checks say otherwise (`checks_failed`); or it stopped early (`stopped_early`): it said there is more
/// to do, stopped after a plan, said nothing, or changed nothing.
struct StoppedTurn: Sendable, Equatable {
    var detection: Detection
    /// What the agent did or said that decided it, for the evidence.
    var why: String

    /// The reading of a turn's last message and how many commands and file changes it made (nil: not known).
    static func read(lastMessage: String?, actions: Int?) -> StoppedTurn {
        let message = (lastMessage ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if actions == 0 { return StoppedTurn(detection: .stoppedEarly, why: "the turn ran no command and changed no file") }
        guard !message.isEmpty else { return StoppedTurn(detection: .stoppedEarly, why: "the agent ended the turn saying nothing") }
        let quoted = "\"\(message.prefix(300))\(message.count > 300 ? "…" : "")\""
        let lower = message.lowercased()
        if let phrase = longestFirst.first(where: { lower.contains($0) }) {
            return StoppedTurn(detection: .stoppedEarly, why: "the agent said there is more to do (\"\(phrase)\"): \(quoted)")
        }
        return StoppedTurn(detection: .checksFailed, why: "the agent said it was done: \(quoted)")
    }

    /// Words of an agent that stopped before the end: a plan, a next step, work left.
    static let moreToDo = [
        "next, i", "next i will", "next i'll", "next step", "i will now", "i'll now", "i will then", "i'll then", "then i will",
        "then i'll", "i'm going to", "i am going to", "let me know", "plan:", "my plan", "here is the plan", "here's the plan",
        "remaining", "still need", "still to do", "not yet", "todo:", "to do:", "once that", "in the next turn",
        "shall i", "should i proceed", "would you like",
    ]

    /// The phrases, the longest first: the evidence quotes the most telling one.
    private static let longestFirst = moreToDo.sorted { $0.count > $1.count }
}
