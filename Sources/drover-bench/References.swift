import DroverProtocol
import DroverTransport
import Foundation

/// The reference benchmarks of `bench/` (a pyzmq JSON ROUTER, a pyzmq JSON dispatcher, Celery + Redis), run in the
/// same sitting as Drover's own figures so that the two can be compared as ratios: absolute figures move by 2–3×
/// between machines of the same class, and with the load of the moment.
enum References {
    /// The targets Drover's figures are held to, as ratios to the references.
    static let heartbeatTarget = 3.0
    static let celeryTarget = 20.0
    static let dispatcherTarget = 1.0

    /// `bench/run-references` of the repository this binary was built in (searched upwards from the binary, then
    /// from the working directory).
    static func findScript() -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for start in [executable.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] {
            var directory = start
            while directory.path != "/" {
                let script = directory.appendingPathComponent("bench/run-references").path
                if FileManager.default.isExecutableFile(atPath: script) { return script }
                directory = directory.deletingLastPathComponent()
            }
        }
        return nil
    }

    /// Runs the script and returns the JSON object it prints; its progress goes to this process's stderr.
    static func run(script: String, runs: Int, seconds: Double, tasks: Int) async throws -> [String: JSONValue] {
        let arguments = ["--runs", String(runs), "--seconds", String(seconds), "--tasks", String(tasks)]
        let output: Data = try await withCheckedThrowingContinuation { continuation in
            // Reading the pipe blocks for minutes: not on the cooperative pool.
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: script)
                    process.arguments = arguments
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    try process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    guard process.terminationStatus == 0 else {
                        throw BenchError("\(script) exited with status \(process.terminationStatus)")
                    }
                    continuation.resume(returning: data)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        guard case .object(let figures) = try JSONDecoder().decode(JSONValue.self, from: output) else {
            throw BenchError("\(script) printed no JSON object")
        }
        return figures
    }

    /// Drover's figures next to the references', with the ratios and whether each target is met.
    static func comparison(
        heartbeats: [String: JSONValue]?,
        throughput: [JSONValue]?,
        references: [String: JSONValue]
    ) -> [String: JSONValue] {
        var rows: [String: JSONValue] = [:]
        func median(_ reference: String, _ figure: String) -> Double? {
            guard case .object(let row)? = references[reference], case .object(let summary)? = row[figure] else { return nil }
            return summary["median"]?.number
        }
        func row(drover: Double, reference: Double, target: Double, unit: String, extra: [String: JSONValue] = [:], met: Bool = true)
            -> JSONValue
        {
            let ratio = reference > 0 ? drover / reference : 0
            var fields: [String: JSONValue] = [
                "drover": .double(drover.rounded()), "reference_median": .double(reference.rounded()), "unit": .string(unit),
                "ratio": .double((ratio * 100).rounded() / 100), "target_ratio": .double(target),
                "met": .bool(met && (target == 1 ? ratio > 1 : ratio >= target)),
            ]
            fields.merge(extra) { $1 }
            return .object(fields)
        }
        if let heartbeats, let drover = heartbeats["messages_per_second"]?.number,
            let reference = median("pyzmq_json_router_heartbeats", "messages_per_second")
        {
            let registered = heartbeats["workers_still_registered"]?.number ?? 0
            let workers = heartbeats["workers"]?.number ?? 0
            rows["heartbeat_ingest_vs_pyzmq_json_router"] = row(
                drover: drover,
                reference: reference,
                target: heartbeatTarget,
                unit: "messages/s",
                extra: ["workers_still_registered": .double(registered)],
                met: registered == workers
            )
        }
        let at64 = throughput?.compactMap { run -> Double? in
            guard case .object(let fields) = run, fields["workers"]?.number == 64 else { return nil }
            return fields["todos_per_second"]?.number
        }.first
        if let at64 {
            if let celery = median("celery_redis_prefork4", "tasks_per_second") {
                rows["throughput_64_workers_vs_celery_redis"] = row(drover: at64, reference: celery, target: celeryTarget, unit: "tasks/s")
            }
            if let dispatcher = median("pyzmq_json_dispatcher", "tasks_per_second") {
                rows["throughput_64_workers_vs_pyzmq_json_dispatcher"] = row(
                    drover: at64,
                    reference: dispatcher,
                    target: dispatcherTarget,
                    unit: "tasks/s"
                )
            }
        }
        return rows
    }
}

extension JSONValue {
    /// The value as a number, if it is one.
    fileprivate var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}
