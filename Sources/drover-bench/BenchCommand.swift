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

    @Option(help: "Which benchmarks: throughput, heartbeats, failover, codex, fanout, or all.") var only: String = "all"
    @Option(help: "TODOs per throughput run with 8 and 64 workers.") var todos = 20_000
    @Option(help: "Seconds to measure heartbeat ingest.") var seconds = 5.0

    func validate() throws {
        guard ["all", "throughput", "heartbeats", "failover", "codex", "fanout"].contains(only) else {
            throw ValidationError("--only must be throughput, heartbeats, failover, codex, fanout or all")
        }
        guard todos > 0, seconds > 0 else { throw ValidationError("--todos and --seconds must be positive") }
        guard FileManager.default.isExecutableFile(atPath: BenchCoordinator.droverPath) else {
            throw ValidationError("\(BenchCoordinator.droverPath) is missing: run `swift build -c release` first")
        }
    }

    func run() async throws {
        var results: [String: JSONValue] = [
            "machine": .object(["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))])
        ]
        if only == "all" || only == "throughput" {
            var runs: [JSONValue] = []
            for (workers, count) in [(1, max(1, todos / 4)), (8, todos), (64, todos)] {
                progress("throughput with \(workers) simulated workers, \(count) TODOs")
                runs.append(.object(try await throughput(workers: workers, slots: 16, todos: count)))
            }
            results["throughput"] = .array(runs)
        }
        if only == "all" || only == "heartbeats" {
            progress("heartbeat ingest from 1000 simulated workers for \(seconds) s")
            results["heartbeat_ingest"] = .object(try await heartbeatIngest(workers: 1000, seconds: seconds))
        }
        if only == "all" || only == "failover" {
            var runs: [JSONValue] = []
            for mode in ["kill", "freeze"] {
                progress("failover after a worker \(mode == "kill" ? "is killed" : "freezes")")
                runs.append(.object(try await failover(mode: mode)))
            }
            results["failover"] = .array(runs)
        }
        if only == "all" || only == "fanout" {
            progress("event fan-out to 10 observers and a dashboard client, \(todos / 4) TODOs")
            results["fanout"] = .object(try await fanout(observers: 10, todos: max(1, todos / 4)))
        }
        if only == "all" || only == "codex" {
            if let codex = CodexConfiguration.findExecutable() {
                progress("codex sessions against the scripted model")
                results["codex"] = .object(try await CodexBenchmarks.run(codex: codex))
            } else {
                progress("codex not found (pip install openai-codex-cli-bin): skipping the codex benchmarks")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(results), as: UTF8.self))
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)…\n".utf8))
    }
}
