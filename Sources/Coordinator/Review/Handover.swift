import DroverProtocol
import Foundation

/// What a TODO's new owner is told of the sessions that had it before its worker was lost: read from their agent
/// events (the coordinator has them all), the last things they did, oldest first. Its work so far is in the branch,
/// saved by the checkpoints taken during and between turns; this says what it was and what it was doing.
enum Handover {
    /// The agent events that say what a session did.
    static let kinds: Set<EventType> = [
        .agent(.command), .agent(.fileChange), .agent(.message), .agent(.checkpoint), .todoParked,
    ]

    /// What the next session is told: that an operator paused the one before (when the TODO's latest session was
    /// paused), then the ``summary(of:limit:)`` of what it did. A session that goes on on the thread of the one
    /// before (``TaskSpec/resumeThread``) gets it as what happened meanwhile; one that starts a new thread, as what
    /// the thread before did.
    static func note(of events: [Event]) -> String? {
        var parts: [String] = []
        if events.last(where: { lifecycle.contains($0.type) }).map({ $0.type != .todoRunning }) ?? false {
            parts.append(
                "An operator paused the session before this one after its turn, and has resumed the task now: "
                    + "go on from where it stopped (its work is in the branch)."
            )
        }
        // A new thread knows nothing of what the operator said to the sessions before: it is said again.
        let guidance = events.filter { $0.type == .todoSteered }.suffix(5).compactMap { $0.data["text"]?.stringValue }
        if !guidance.isEmpty {
            parts.append(
                "What the operator told the sessions before (it still holds):\n"
                    + guidance.map { "- " + String($0.prefix(800)).replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
            )
        }
        if let summary = summary(of: events) { parts.append(summary) }
        return parts.isEmpty ? nil : parts.joined(separator: "\n")
    }

    /// The events that say whether a TODO's latest session was paused.
    private static let lifecycle: Set<EventType> = [.todoRunning, .todoPaused, .todoResumed]

    /// The summary of `events` (a TODO's, oldest first), at most `limit` lines; nil when no earlier session did
    /// anything worth telling.
    static func summary(of events: [Event], limit: Int = 12) -> String? {
        let lines = events.filter { kinds.contains($0.type) }.suffix(limit).compactMap(line)
        guard !lines.isEmpty else { return nil }
        let worker = events.last { kinds.contains($0.type) }?.worker.map { " on \($0)" } ?? ""
        return "What the session before (\(lines.count) last steps\(worker)) did, oldest first:\n" + lines.joined(separator: "\n")
    }

    private static func line(_ event: Event) -> String? {
        if event.type == .todoParked {
            // Parked by a usage limit: the branch holds the work, and the new session is told why the last one stopped.
            let why = event.data["evidence"]?.stringValue.map { ": " + String($0.prefix(300)) } ?? ""
            return "- stopped by a usage limit and was parked until it reset (it has now)\(why)"
        }
        guard let text = event.data["text"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            return nil
        }
        let first = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
        switch event.type {
        case .agent(.command): return "- ran " + String(first.prefix(300))
        case .agent(.fileChange): return "- changed " + text.split(separator: "\n").prefix(10).joined(separator: ", ")
        case .agent(.message): return "- said: " + String(text.prefix(500)).replacingOccurrences(of: "\n", with: " ")
        default: return "- saved its work: " + String(first.prefix(200))
        }
    }
}
