import ArgumentParser
import DroverProtocol
import Foundation
import Worker

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drover-bench",
        abstract: "Measures the cluster core and prints the figures as JSON.",
        discussion: "Build in release mode first (swift build -c release); it starts .build/release/drover beside itself."
    )

    @Option(help: "Which benchmarks: throughput, heartbeats, failover, codex, fanout, merges, curve, or all; several with commas.")
    var only: String = "all"
    @Option(help: "TODOs per throughput run with 8 and 64 workers.") var todos = 20_000
    @Option(help: "Seconds to measure heartbeat ingest.") var seconds = 5.0
    @Flag(
        help: """
            Also run the reference benchmarks of bench/ (pyzmq JSON ROUTER, pyzmq JSON dispatcher, Celery + Redis) in the same \
            sitting, and print their figures and Drover's ratios to them (installs redis-server and a Python venv if missing).
            """
    )
    var withReferences = false
    @Option(help: "Runs of each reference benchmark (their median is compared).") var referenceRuns = 3
    @Option(help: "The reference script (default: bench/run-references of this repository).") var references: String?

    /// The benchmarks chosen by --only: one name, a comma-separated list, or all.
    var chosen: Set<String> {
        let names = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return names.contains("all") ? Self.benchmarks : names
    }

    static let benchmarks: Set<String> = ["throughput", "heartbeats", "failover", "codex", "fanout", "merges", "curve"]

    func validate() throws {
        guard !chosen.isEmpty, chosen.isSubset(of: Self.benchmarks) else {
            throw ValidationError(
                "--only must be throughput, heartbeats, failover, codex, fanout, merges, curve or all (or a comma-separated list)"
            )
        }
        guard todos > 0, seconds > 0, referenceRuns > 0 else {
            throw ValidationError("--todos, --seconds and --reference-runs must be positive")
        }
        guard FileManager.default.isExecutableFile(atPath: BenchCoordinator.droverPath) else {
            throw ValidationError("\(BenchCoordinator.droverPath) is missing: run `swift build -c release` first")
        }
        if withReferences, (references ?? References.findScript()) == nil {
            throw ValidationError("bench/run-references not found: pass --references PATH")
        }
    }

    func run() async throws {
        var results: [String: JSONValue] = [
            "machine": .object(["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))])
        ]
        if chosen.contains("throughput") {
            var runs: [JSONValue] = []
            for (workers, count) in [(1, max(1, todos / 4)), (8, todos), (64, todos)] {
                progress("throughput with \(workers) simulated workers, \(count) TODOs")
                runs.append(.object(try await throughput(workers: workers, slots: 16, todos: count)))
            }
            results["throughput"] = .array(runs)
        }
        if chosen.contains("heartbeats") {
            progress("heartbeat ingest from 1000 simulated workers for \(seconds) s")
            results["heartbeat_ingest"] = .object(try await heartbeatIngest(workers: 1000, seconds: seconds))
        }
        if chosen.contains("failover") {
            var runs: [JSONValue] = []
            for mode in ["kill", "freeze"] {
                progress("failover after a worker \(mode == "kill" ? "is killed" : "freezes")")
                runs.append(.object(try await failover(mode: mode)))
            }
            results["failover"] = .array(runs)
        }
        if chosen.contains("fanout") {
            progress("event fan-out to 10 observers and a dashboard client, \(todos / 4) TODOs")
            results["fanout"] = .object(try await fanout(observers: 10, todos: max(1, todos / 4)))
        }
        if chosen.contains("merges") {
            progress("the merge queue: a plan of 50 TODOs merged one at a time into its integration branch, 4 workers")
            results["merges"] = .object(try await MergeBenchmark.run(todos: 50, workers: 4))
        }
        if chosen.contains("curve") {
            progress("CURVE's cost: throughput (8 workers, \(todos) TODOs) and heartbeat ingest (1000 workers), with keys and without")
            results["curve"] = .object(try await curveCost(todos: todos, seconds: seconds))
        }
        if chosen.contains("codex") {
            if let codex = CodexConfiguration.findExecutable() {
                progress("codex sessions against the scripted model")
                results["codex"] = .object(try await CodexBenchmarks.run(codex: codex))
            } else {
                progress("codex not found (pip install openai-codex-cli-bin): skipping the codex benchmarks")
            }
        }
        if withReferences, let script = references ?? References.findScript() {
            progress("the reference benchmarks (\(script)), \(referenceRuns) runs each")
            let figures = try await References.run(script: script, runs: referenceRuns, seconds: 15, tasks: 20_000)
            results["references"] = .object(figures)
            var heartbeats: [String: JSONValue]?
            if case .object(let fields)? = results["heartbeat_ingest"] { heartbeats = fields }
            var throughput: [JSONValue]?
            if case .array(let runs)? = results["throughput"] { throughput = runs }
            results["comparison"] = .object(References.comparison(heartbeats: heartbeats, throughput: throughput, references: figures))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(results), as: UTF8.self))
    }

    /// The same runs with and without keys, one after the other, and the ratios.
    private func curveCost(todos: Int, seconds: Double) async throws -> [String: JSONValue] {
        let keys = try BenchKeys()
        defer { keys.remove() }
        let plain = try await throughput(workers: 8, slots: 16, todos: todos)
        let keyed = try await throughput(workers: 8, slots: 16, todos: todos, keys: keys)
        let plainBeats = try await heartbeatIngest(workers: 1000, seconds: seconds)
        let keyedBeats = try await heartbeatIngest(workers: 1000, seconds: seconds, keys: keys)
        func ratio(_ keyed: [String: JSONValue], _ plain: [String: JSONValue], _ field: String) -> JSONValue {
            guard case .double(let with)? = keyed[field], case .double(let without)? = plain[field], without > 0 else { return .null }
            return .double((with / without * 100).rounded() / 100)
        }
        return [
            "throughput_without_keys": .object(plain), "throughput_with_keys": .object(keyed),
            "heartbeats_without_keys": .object(plainBeats), "heartbeats_with_keys": .object(keyedBeats),
            "throughput_ratio": ratio(keyed, plain, "todos_per_second_after_submit"),
            "heartbeat_ratio": ratio(keyedBeats, plainBeats, "messages_per_second"),
        ]
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)…\n".utf8))
    }
}
