import DroverTesting
import Foundation
import Worker

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
        var screen = ""
        let shown = try await poll(within: timeout, every: .milliseconds(100)) { () async throws -> String? in
            screen = try await tmux(["capture-pane", "-p"])
            return condition(screen) ? screen : nil
        }
        if let shown { return shown }
        throw TestFailure("the terminal never showed what was expected; it shows:\n\(screen)")
    }

    /// Ends the window's command (with its process group) and the server, by PID.
    func end() async {
        let pids = ((try? await tmux(["list-panes", "-a", "-F", "#{pane_pid}"])) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        let server = pid_t(((try? await tmux(["display-message", "-p", "#{pid}"])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
        // Each pane's command leads a process group of its own: the group goes, with whatever the command started.
        for pid in pids {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        if let server { kill(server, SIGKILL) }
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }
}
