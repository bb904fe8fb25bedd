import DroverProtocol
import Foundation

/// What `drover watch` shows: jobs, workers, running TODOs with their latest agent activity, the inbox, recent events.
///
/// Fed by status replies (``update(status:inbox:jobs:)``) and the event stream (``apply(_:)``); ``render(columns:rows:)``
/// lays it out as lines that fit the terminal.
public struct FleetView: Sendable {
    public private(set) var status: StatusBody?
    public private(set) var inboxCount = 0
    /// The jobs, oldest first.
    public private(set) var jobs: [JobView] = []
    /// The latest agent event of each TODO (`plan/todo`), for people.
    public private(set) var activity: [String: String] = [:]
    /// When each running TODO started (wall ms), as seen in the stream.
    private var started: [String: Int64] = [:]
    /// The latest events, newest last.
    public private(set) var recent: [Event] = []
    /// How many events ``recent`` keeps.
    public var recentLimit = 50

    public init() {}

    public mutating func update(status: StatusBody, inbox: Int, jobs: [JobView] = []) {
        self.status = status
        inboxCount = inbox
        self.jobs = jobs
        let running = Set(status.todos.filter { $0.state == .running || $0.state == .assigned }.map { "\($0.plan)/\($0.id)" })
        activity = activity.filter { running.contains($0.key) }
        started = started.filter { running.contains($0.key) }
    }

    public mutating func apply(_ event: Event) {
        recent.append(event)
        if recent.count > recentLimit { recent.removeFirst(recent.count - recentLimit) }
        guard let plan = event.plan, let todo = event.todo else { return }
        let key = "\(plan)/\(todo)"
        if event.type == .todoRunning { started[key] = event.ts }
        if event.type.subject == "agent" {
            let kind = event.data["kind"]?.stringValue ?? String(event.type.rawValue.dropFirst("agent.".count))
            let text = event.data["text"]?.stringValue ?? ""
            let last = text.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            activity[key] = "\(kind): \(last)"
        }
    }

    /// The screen: a header, workers, running TODOs, then as many recent events as fit.
    public func render(columns: Int, rows: Int, now: Int64 = wallClockMilliseconds()) -> [String] {
        var lines: [String] = []
        guard let status else { return ["drover watch: waiting for the coordinator…"] }
        let clock = Date(timeIntervalSince1970: Double(now) / 1000).formatted(.iso8601.time(includingFractionalSeconds: false))
        lines.append("drover watch · coordinator \(status.instance) · event #\(status.seq) · \(clock)")
        let plans = status.plans.map { plan in
            "\(plan.id) [\(plan.paused == true ? "paused" : plan.state.rawValue)] \(plan.counts["done"] ?? 0)/\(plan.counts.values.reduce(0, +))"
        }
        lines.append("plans: " + (plans.isEmpty ? "none" : plans.joined(separator: " · ")))
        lines.append(inboxCount == 0 ? "inbox: empty" : "inbox: \(inboxCount) waiting for a human (drover inbox)")
        // Jobs under way, and the last few that ended.
        let shown = jobs.filter { !$0.state.isTerminal } + jobs.filter(\.state.isTerminal).suffix(3)
        if !shown.isEmpty {
            lines.append("")
            lines.append("JOBS (\(jobs.count(where: { !$0.state.isTerminal })) under way)")
            for job in shown { lines.append("  \(job.id) [\(job.state)] \(job.reason.replacingOccurrences(of: "\n", with: " "))") }
        }
        lines.append("")
        lines.append("WORKERS (\(status.workers.count))")
        if status.workers.isEmpty { lines.append("  none connected") }
        for worker in status.workers {
            lines.append(
                "  \(worker.id) on \(worker.host): \(worker.running.count)/\(worker.slots) busy"
                    + (worker.draining ? ", draining" : "") + ", seen \(worker.lastSeenMsAgo) ms ago"
            )
        }
        let running = status.todos.filter { $0.state == .running || $0.state == .assigned }
        lines.append("")
        lines.append("RUNNING (\(running.count))")
        for todo in running {
            let key = "\(todo.plan)/\(todo.id)"
            var line = "  \(key) on \(todo.worker ?? "?")"
            if let since = started[key] { line += " · \(humanDuration(seconds: Double(now - since) / 1000))" }
            if let latest = activity[key] { line += " · \(latest)" }
            lines.append(line)
        }
        // Parked by a usage limit: when each goes on.
        let waiting = status.todos.filter { $0.state == .waiting }
        if !waiting.isEmpty {
            lines.append("")
            lines.append("WAITING (\(waiting.count))")
            let date = Date(timeIntervalSince1970: Double(now) / 1000)
            for todo in waiting {
                lines.append("  \(todo.plan)/\(todo.id) · \(todo.resumeNote(now: date) ?? "waiting") · \(todo.detail ?? "")")
            }
        }
        lines.append("")
        lines.append("RECENT EVENTS")
        let room = max(1, rows - lines.count)
        for event in recent.suffix(room) { lines.append("  " + Self.eventLine(event)) }
        return lines.prefix(rows).map { String($0.prefix(columns)) }
    }

    /// A short line for an event: number, type, subject, and its most telling field.
    public static func eventLine(_ event: Event) -> String {
        var line = "#\(event.seq) \(event.type)"
        if let plan = event.plan { line += " \(plan)" + (event.todo.map { "/\($0)" } ?? "") }
        if let worker = event.worker { line += " @\(worker)" }
        if event.type == .jobTransition, let to = event.data["to"]?.stringValue {
            line += ": \(event.data["from"]?.stringValue ?? "start") → \(to)"
        }
        for key in ["text", "reason", "summary", "decision"] {
            if let value = event.data[key]?.stringValue, !value.isEmpty {
                line += ": " + value.replacingOccurrences(of: "\n", with: " ")
                break
            }
        }
        return line
    }
}
