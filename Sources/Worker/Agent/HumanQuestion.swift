import DroverProtocol
import Foundation

/// Whether a question the agent ended its turn with must reach a human, whatever the TODO's risk, and why: it asked
/// again after being told to decide itself, or it is one the task and the repository cannot settle (credentials or
/// access, a spec that contradicts itself, a choice that cannot be undone). Above low and medium risk every question
/// reaches a human (``SessionSupervisor/agentMayDecideAlone(risk:)``).
enum HumanQuestion {
    /// Why `question` goes to a human; nil when the agent may decide it.
    static func reason(for question: String, risk: Risk?, askedBefore: Bool) -> String? {
        if !SessionSupervisor.agentMayDecideAlone(risk: risk) { return "the TODO's risk is \(risk?.rawValue ?? "high")" }
        if askedBefore { return "it asked again after being told to decide itself" }
        let lower = question.lowercased()
        for (words, why) in kinds where words.contains(where: { lower.contains($0) }) { return why }
        return nil
    }

    /// Words of questions only a human can answer, and why.
    static let kinds: [(words: [String], why: String)] = [
        (
            [
                "credential", "password", "api key", "api_key", "apikey", "secret", "access token", "auth token", "ssh key",
                "log in", "login", "access to", "permission to access", "sudo",
            ],
            "it needs credentials or access"
        ),
        (
            ["contradict", "conflicting", "inconsistent", "mutually exclusive", "both say", "the spec says", "the task says"],
            "the task seems to contradict itself"
        ),
        (
            [
                "cannot be undone", "can't be undone", "irreversible", "permanently", "force push", "force-push", "drop the",
                "delete the", "wipe", "production",
            ],
            "the choice cannot be undone"
        ),
    ]

    /// The inbox text: the question as the agent asked it, then what the operator needs to answer it.
    static func text(_ question: String, why: String, failing: [CheckResult]) -> String {
        var text = "codex asks: \(question.prefix(4000))\n\n(It reaches you because \(why).)"
        if !failing.isEmpty {
            text +=
                "\nThe checks that fail meanwhile:\n"
                + failing.prefix(5).map { "- \($0.check): \($0.detail.prefix(300))" }.joined(separator: "\n")
        }
        return text
    }
}
