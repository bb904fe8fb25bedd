import Coordinator
import DroverProtocol
import Foundation
import Worker

/// The merge queue's throughput: `drover run` of a plan of small TODOs that touch files of their own (no
/// conflicts), in a real bare repository, with no integration checks. From the event log: merges a minute while the
/// queue worked, and how long after the plan's last TODO was done its last merge went in (the queue draining).
enum MergeBenchmark {
    static func run(todos: Int, workers: Int) async throws -> [String: JSONValue] {
        let directory = "/tmp/drover-bench-merges-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await sh(
            """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed 2>/dev/null && cd seed \
            && git -c user.email=b@b -c user.name=b commit --quiet --allow-empty -m seed && git push --quiet origin main
            """,
            in: directory
        )
        var plan = "id: merges\nrepository: \(directory)/remote.git\nintegration_checks: []\ntodos:\n"
        for index in 0..<todos { plan += "  - { id: t\(index), command: \"echo \(index) > file-\(index).txt\" }\n" }
        try plan.write(toFile: "\(directory)/plan.yaml", atomically: true, encoding: .utf8)

        let started = ContinuousClock.now
        let run = try GuardedProcess(
            arguments: [BenchCoordinator.droverPath, "run", "plan.yaml", "--workers", "\(workers)", "--log-level", "error"],
            environment: ProcessInfo.processInfo.environment,
            directory: directory
        )
        let status = await run.wait()
        let wall = Double((ContinuousClock.now - started).milliseconds) / 1000
        guard status == 0 else { throw BenchError("drover run of the merge plan exited with \(status)") }

        let events = try EventLog.read(statePath: "\(directory)/.drover/state.sqlite", limit: 1_000_000)
        let merges = events.filter { $0.type == .mergeMerged && $0.plan == "merges" }.map(\.ts)
        let lastDone = events.last { $0.type == .todoDone && $0.plan == "merges" }?.ts
        guard merges.count == todos, let first = merges.first, let last = merges.last, let lastDone else {
            throw BenchError("\(merges.count) of \(todos) TODOs were merged")
        }
        let minutes = Double(max(1, last - first)) / 60_000
        return [
            "todos": .int(Int64(todos)), "workers": .int(Int64(workers)), "merged": .int(Int64(merges.count)),
            "merges_per_minute": .double((Double(merges.count - 1) / minutes).rounded()),
            "drain_ms_after_last_todo": .int(last - lastDone), "wall_seconds": .double(wall),
        ]
    }

    private static func sh(_ script: String, in directory: String) async throws {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        guard status == 0 else { throw BenchError("`\(script)` failed: \(output)") }
    }
}
