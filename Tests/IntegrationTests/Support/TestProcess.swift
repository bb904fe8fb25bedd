import DroverTesting
import Foundation
import Synchronization
import Worker

/// A `drover` process started by a test: its output is collected, and it is ended by PID at the end of the test.
///
/// It runs under ``GuardedProcess``, so even if the test runner itself dies, the kernel ends it.
final class TestProcess: Sendable {
    let name: String
    let process: GuardedProcess
    private let log = TextBox()
    private let collector: Task<Void, Never>

    /// Starts `drover` with `arguments`; `launcher` goes in front (e.g. `ip netns exec NAME`).
    convenience init(name: String, arguments: [String], directory: String, launcher: [String] = []) throws {
        try self.init(name: name, command: launcher + [TestProcess.droverPath] + arguments, directory: directory)
    }

    /// Starts any program (`command[0]` is its path, or a name on the PATH).
    init(name: String, command: [String], directory: String) throws {
        self.name = name
        let process = try GuardedProcess(
            arguments: command,
            environment: ProcessInfo.processInfo.environment,
            directory: directory
        )
        self.process = process
        let log = self.log
        collector = Task {
            for await chunk in process.output {
                log.text.withLock { $0 += String(decoding: chunk.data, as: UTF8.self) }
            }
        }
    }

    /// Everything it printed so far, stdout and stderr interleaved.
    var output: String { log.text.withLock { $0 } }

    /// Waits for a line containing `text`, up to `timeout`, and returns it.
    func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        let line = await poll(within: timeout) { () -> String? in
            if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            return process.hasExited ? "" : nil
        }
        if let line, !line.isEmpty { return line }
        throw TestFailure("\(name) printed no line containing \"\(text)\"; its output:\n\(output.suffix(3000))")
    }

    /// Sends a signal to the process (and the guardian in its group).
    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits for the exit status, up to `timeout`; kills the process if it is still there then.
    @discardableResult
    func wait(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let process = self.process
        guard let status = await value(within: timeout, of: { await process.wait() }) else {
            process.signal(SIGKILL)
            throw TestFailure("\(name) did not exit within \(timeout); its output:\n\(output.suffix(3000))")
        }
        await collector.value
        return status
    }

    /// Ends the process for good (SIGKILL to its group) and reaps it.
    func kill() async {
        process.signal(SIGKILL)
        _ = await process.wait()
    }

    /// The `drover` executable next to the test bundle (or `DROVER_BIN`).
    static let droverPath: String = {
        if let path = ProcessInfo.processInfo.environment["DROVER_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("drover").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/drover").path
    }()
}

/// Text that one task appends to and others read.
final class TextBox: Sendable {
    let text = Mutex("")
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
