import DroverProtocol
import Foundation

/// TODOs parked by a usage limit (or a rate limit that asks for a long wait): they wait, their slot free, until the
/// reset time their worker read, then go on from their checkpoint on any worker. A reset further away than
/// `--max-park` escalates them instead.
extension CoordinatorCore {
    /// A `parked` report (its lease is released already): the TODO waits until `resumeAt` (wall-clock ms), or is
    /// escalated when that is further away than ``CoordinatorConfiguration/maxPark``. Not a failed attempt.
    func park(_ key: TodoKey, until resumeAt: Int64, report: ReportBody, worker: String, now: Int64, _ data: [String: JSONValue]) {
        let wallNow = wallClock(now)
        let maxPark = configuration.maxPark.milliseconds
        let evidence = Self.evidence(of: report.summary)
        var data = data
        data["resume_at"] = .int(resumeAt)
        data["evidence"] = .string(evidence)
        guard resumeAt - wallNow <= maxPark else {
            let reason =
                "usage limit: it resets at \(Self.format(resumeAt)), \(Self.span(resumeAt - wallNow)) away, "
                + "beyond --max-park (\(Self.span(maxPark))); retry it then (drover todo retry \(key.plan)/\(key.todo)): \(evidence)"
            end(key, as: .escalated, detail: reason, durationMs: report.durationMs, worker: worker, data)
            return
        }
        guard todos.park(key, until: resumeAt, detail: "parked until \(Self.format(resumeAt)): \(evidence)") else { return }
        count("parked")
        record(.todoParked, plan: key.plan, todo: key.todo, worker: worker, data)
    }

    /// At each tick: the parked TODOs whose reset time has come are ready again, at the front of the queue.
    func resumeParked(now: Int64) {
        for key in todos.resumeDue(at: wallClock(now)) {
            record(.todoResumed, plan: key.plan, todo: key.todo, ["epoch": .int(todos[key]?.epoch ?? 0)])
        }
    }

    /// A time for people and reasons: UTC, to the second (`2030-03-17T17:46:00Z`).
    static func format(_ milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }

    /// "6h", "2h 30m", "45s".
    static func span(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60)
        let parts = [(hours, "h"), (minutes, "m"), (rest, "s")].filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }
        return parts.isEmpty ? "0s" : parts.joined(separator: " ")
    }

    /// What the worker saw, from its summary (`parked until T: <codex's message>`).
    static func evidence(of summary: String) -> String {
        guard summary.hasPrefix("parked until "), let colon = summary.range(of: ": ") else { return summary }
        return String(summary[colon.upperBound...])
    }
}
