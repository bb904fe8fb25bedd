import DroverProtocol
import DroverTransport
import Foundation
import Testing
import Worker

/// `scripts/netfuzz.py` against a live coordinator while a real worker runs a plan: random and mutated multipart
/// frames on all three sockets must not take the coordinator down or stop the plan, and every refusal is counted.
@Suite(.timeLimit(.minutes(2)))
struct NetworkFuzzTests {
    @Test(.enabled(if: ObserverExampleTests.pythonHasZMQ, "needs python3 with pyzmq (pip install pyzmq)"))
    func theCoordinatorOutlastsFuzzedFramesWhileAPlanRuns() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            // Long enough that the fuzzing happens while the plan runs.
            let todos = (0..<8).map { Todo(id: "t\($0)", command: "sleep 1; echo t\($0)") }
            try await cluster.submit(Plan(id: "fuzzed", title: "runs while fuzzed", todos: todos))

            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/netfuzz.py").path
            let fuzzer = try GuardedProcess(
                arguments: [
                    ObserverExampleTests.python, script, "--work", endpoints.work, "--control", endpoints.control, "--events",
                    endpoints.events, "--count", "3000", "--large", "8", "--seed", "12",
                ],
                environment: ProcessInfo.processInfo.environment,
                directory: cluster.directory
            )
            defer { fuzzer.signal(SIGKILL) }
            var output = ""
            for await chunk in fuzzer.output { output += String(decoding: chunk.data, as: UTF8.self) }
            #expect(await fuzzer.wait() == 0, "\(output)")
            let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(output)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output)")
            let refused = try #require(summary["refused"] as? [String: Int], "\(output)")

            // The coordinator is up and answering, and the plan finishes.
            let status = try await cluster.waitForPlan("fuzzed")
            #expect(status.todos.filter { $0.plan == "fuzzed" }.allSatisfy { $0.state == .done })
            // Every message is answered, most with an error, and each refusal the fuzzer saw is counted under its code.
            #expect(summary["replies"] as? Int == 3000, "\(output)")
            #expect(refused.values.reduce(0, +) > 1500, "\(output)")
            for code in ["bad_frames", "bad_json", "bad_field", "unknown_type", "too_large", "unknown_worker", "unsupported_version"] {
                #expect(refused[code, default: 0] > 0, "\(code) refused: \(output)")
            }
            for (code, seen) in refused {
                #expect(status.counters["rejected.\(code)", default: 0] >= Int64(seen), "rejected.\(code): \(status.counters)")
            }
        }
    }
}
