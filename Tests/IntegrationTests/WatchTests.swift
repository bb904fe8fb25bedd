import DroverProtocol
import DroverTransport
import Foundation
import Testing
import Worker

/// `drover watch`: redrawn in place in a real terminal (tmux), plain lines into a pipe.
@Suite(.timeLimit(.minutes(2)))
struct WatchTests {
    /// A TODO that runs until the test ends, and one that is done at once.
    func start(_ cluster: Cluster) async throws -> Endpoints {
        let endpoints = try await cluster.startCoordinator()
        try cluster.startWorker("w1", slots: 2)
        let todos = [Todo(id: "quick", command: "echo quick"), Todo(id: "slow", command: "echo working; sleep 60")]
        try await cluster.submit(Plan(id: "watched", title: "watched", todos: todos))
        try await cluster.waitForStatus("slow to run and quick to be done") { status in
            status.todos.map(\.state.rawValue).sorted() == ["done", "running"]
        }
        return endpoints
    }

    @Test func plainLinesWhenTheOutputIsNotATerminal() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await start(cluster)
            let watch = try cluster.start("watch", ["watch", "--control", endpoints.control, "--events", endpoints.events])
            // It catches up on the latest events, so what happened before it started is there too.
            _ = try await watch.waitForLine(containing: "todo.done watched/quick @w1")
            let status = try await watch.waitForLine(containing: "status:")
            #expect(status.contains("1 workers, 1 running, inbox 0; plans: watched 1/2 running"))
            #expect(!watch.output.contains("\u{1B}["), "no terminal codes in a pipe")
        }
    }

    @Test(.enabled(if: Tmux.available, "needs tmux"))
    func redrawnInPlaceInATerminal() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await start(cluster)
            let tmux = Tmux(columns: 120, rows: 30)
            try await tmux.run([TestProcess.droverPath, "watch", "--control", endpoints.control, "--events", endpoints.events])
            let screen: String
            do {
                // Catching up on the events takes a moment after the first status.
                screen = try await tmux.waitForScreen { $0.contains("watched/slow on w1 · ") && $0.contains("todo.done watched/quick") }
                await tmux.end()
            } catch {
                await tmux.end()
                throw error
            }
            #expect(screen.contains("WORKERS (1)"))
            #expect(screen.contains("w1 on "))
            #expect(screen.contains("inbox: empty"))
            #expect(screen.contains("plans: watched [running] 1/2"))
            #expect(screen.contains("output: working"), "the running TODO's latest agent activity")
            #expect(screen.contains("todo.done watched/quick"))
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.filter { $0.hasPrefix("drover watch") }.count == 1, "redrawn in place, not scrolled")
        }
    }
}
