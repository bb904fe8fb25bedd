import ArgumentParser
import CDroverSys
import DroverClients
import DroverProtocol
import Foundation
import Synchronization

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "A live view of the fleet: workers, running TODOs and their latest agent activity, the inbox, recent events.",
        discussion: "Redrawn in place on a terminal; when the output is not a terminal (or with --plain), one line per event instead."
    )

    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "One line per event, and a status line when it changes, even on a terminal.") var plain = false
    @Option(help: "Seconds between status refreshes.") var interval: Double = 1

    func validate() throws {
        guard interval >= 0.1, interval.isFinite else { throw ValidationError("--interval must be at least 0.1 seconds") }
    }

    func run() async throws {
        var columns: Int32 = 0
        var rows: Int32 = 0
        let terminal = !plain && drover_terminal_size(STDOUT_FILENO, &columns, &rows) == 0
        let view = ViewBox()
        let client = try location.controlClient()
        // The first status proves the coordinator is there, and says where the stream starts.
        let first = try await client.request(.status, EmptyBody(), as: StatusBody.self)
        view.state.withLock { $0.update(status: first, inbox: 0) }
        let follower = EventFollower(events: location.eventsEndpoint, control: try location.controlClient())
        let interval = self.interval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Catch up on the last events, so the screen is not empty at the start.
                try await follower.follow(after: max(0, first.seq - 20)) { event in
                    view.state.withLock { $0.apply(event) }
                    if !terminal { Self.emit(FleetView.eventLine(event)) }
                    return true
                }
            }
            group.addTask {
                var lastSummary = ""
                while !Task.isCancelled {
                    if let status = try? await client.request(.status, EmptyBody(), as: StatusBody.self) {
                        let inbox = (try? await client.request(.inbox, EmptyBody(), as: InboxBody.self))?.items.count ?? 0
                        let jobs = (try? await client.request(.job, JobRequest(action: .list), as: JobsBody.self))?.jobs ?? []
                        view.state.withLock { $0.update(status: status, inbox: inbox, jobs: jobs) }
                        if !terminal {
                            let summary = Self.summary(status, inbox: inbox)
                            if summary != lastSummary { Self.emit(summary) }
                            lastSummary = summary
                        }
                    }
                    try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                }
            }
            if terminal {
                group.addTask {
                    while !Task.isCancelled {
                        var columns: Int32 = 0
                        var rows: Int32 = 0
                        _ = drover_terminal_size(STDOUT_FILENO, &columns, &rows)
                        let lines = view.state.withLock { $0.render(columns: Int(columns), rows: Int(rows) - 1) }
                        // Home, each line cleared to its end, then the rest of the screen cleared: no flicker.
                        Self.emit("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J", newline: false)
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// One status line for the plain output.
    static func summary(_ status: StatusBody, inbox: Int) -> String {
        let plans = status.plans.map { "\($0.id) \($0.counts["done"] ?? 0)/\($0.counts.values.reduce(0, +)) \($0.state)" }
        let running = status.todos.filter { $0.state == .running }.count
        return "status: \(status.workers.count) workers, \(running) running, inbox \(inbox); plans: "
            + (plans.isEmpty ? "none" : plans.joined(separator: ", "))
    }

    static func emit(_ text: String, newline: Bool = true) {
        FileHandle.standardOutput.write(Data((newline ? text + "\n" : text).utf8))
    }
}

/// The view, shared by the tasks that feed and draw it.
private final class ViewBox: Sendable {
    let state = Mutex(FleetView())
}
