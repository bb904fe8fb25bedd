import DroverProtocol
import DroverTransport
import Foundation
import Testing
import Worker

/// `examples/observer.py`, a Python client written from docs/protocol.md, against a live coordinator.
@Suite(.timeLimit(.minutes(2)))
struct ObserverExampleTests {
    /// The `python3` the PATH gives, as in a shell.
    static let python: String =
        ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/python3" }
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/python3"

    /// Whether that python has pyzmq (checked once, with a short-lived process).
    static let pythonHasZMQ: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import zmq"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    @Test(.enabled(if: pythonHasZMQ, "needs python3 with pyzmq (pip install pyzmq)"))
    func theDocumentedFormatHoldsForAForeignClient() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            try await cluster.submit(Plan(id: "before", title: "before", todos: (0..<4).map { Todo(id: "b\($0)", command: "echo b\($0)") }))
            try await cluster.waitForPlan("before")

            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("examples/observer.py").path
            let observer = try GuardedProcess(
                arguments: [Self.python, script, "--events", endpoints.events, "--control", endpoints.control, "--until-plan", "after"],
                environment: ProcessInfo.processInfo.environment,
                directory: cluster.directory
            )
            defer { observer.signal(SIGKILL) }
            try await cluster.submit(Plan(id: "after", title: "after", todos: (0..<4).map { Todo(id: "a\($0)", command: "echo a\($0)") }))
            var output = ""
            for await chunk in observer.output { output += String(decoding: chunk.data, as: UTF8.self) }
            #expect(await observer.wait() == 0, "\(output)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            #expect(summary["ok"] as? Bool == true)
            #expect(summary["first_seq"] as? Int == 1)
            let status = try await cluster.status()
            #expect(summary["last_seq"] as? Int ?? 0 <= Int(status.seq))
            #expect((summary["events"] as? Int ?? 0) > 20)
        }
    }
}
