import Foundation
import Shared
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
            status.todos.map(\.state).sorted() == ["done", "running"]
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

/// A tmux server of the test's own (its own socket), with one window running a command.
struct Tmux {
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    let socket = "drover-test-\(UUID().uuidString.prefix(8))"
    let columns: Int
    let rows: Int

    /// Runs a tmux client command and returns what it printed.
    @discardableResult
    func tmux(_ arguments: [String]) async throws -> String {
        try await GuardedProcess.output(of: ["/usr/bin/tmux", "-L", socket] + arguments, in: nil).output
    }

    /// Starts the server with one window running `command`. Only the client's exit is awaited, not its output: the
    /// server it starts keeps the output pipe open for as long as it lives.
    func run(_ command: [String]) async throws {
        let client = try GuardedProcess(
            arguments: ["/usr/bin/tmux", "-L", socket, "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)"] + command,
            environment: ProcessInfo.processInfo.environment,
            directory: nil
        )
        let status = await client.wait()
        guard status == 0 else { throw TestFailure("tmux new-session exited with \(status)") }
    }

    /// The screen as text, once `condition` holds for it (up to `timeout`).
    func waitForScreen(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var screen = ""
        while ContinuousClock.now < deadline {
            screen = try await tmux(["capture-pane", "-p"])
            if condition(screen) { return screen }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the terminal never showed what was expected; it shows:\n\(screen)")
    }

    /// Ends the window's command and the server, by PID.
    func end() async {
        let pids = ((try? await tmux(["list-panes", "-a", "-F", "#{pane_pid}"])) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        let server = pid_t(((try? await tmux(["display-message", "-p", "#{pid}"])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
        for pid in pids { kill(pid, SIGKILL) }
        if let server { kill(server, SIGKILL) }
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }
}
