import DroverProtocol
import Foundation
import ScriptedModel
import Synchronization
import Worker

/// Codex sessions under the worker's agent, against the scripted model, measured from inside the worker process.
enum CodexBenchmarks {
    static func run(codex: String) async throws -> [String: JSONValue] {
        var results: [String: JSONValue] = [:]
        results["normalize"] = .object(normalizeRate())
        results["hang_detection"] = .object(try await hangDetection(codex: codex))
        results["session_overhead"] = .object(try await sessionOverhead(codex: codex, sessions: 4, steps: 15))
        return results
    }

    /// Lines of `codex exec --json` parsed and turned into agent events per second.
    static func normalizeRate() -> [String: JSONValue] {
        let lines = [
            #"{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'make test'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
            #"{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'make test'","aggregated_output":"ok 1\nok 2\n","exit_code":0,"status":"completed"}}"#,
            #"{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"All tests pass."}}"#,
            #"{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"output_tokens":30}}"#,
        ]
        var blob = Data()
        let count = 100_000
        for index in 0..<count { blob.append(Data((lines[index % lines.count] + "\n").utf8)) }
        let start = ContinuousClock.now
        var splitter = LineSplitter()
        var events = 0
        var offset = 0
        while offset < blob.count {
            let end = min(offset + 65536, blob.count)
            for line in splitter.lines(adding: blob[offset..<end]) {
                if let event = CodexExecEvent(line: line) {
                    _ = event.agentEvent
                    events += 1
                }
            }
            offset = end
        }
        let seconds = Double((ContinuousClock.now - start).milliseconds) / 1000
        return [
            "lines": .int(Int64(events)), "seconds": .double(seconds), "lines_per_second": .double((Double(events) / seconds).rounded()),
        ]
    }

    /// How long after the last agent event a silent session is declared hung, against the configured threshold.
    static func hangDetection(codex: String) async throws -> [String: JSONValue] {
        let server = try ScriptedModelServer(script: ModelScript([.once(.silence, then: .message("ok"))]))
        defer { server.stop() }
        let directory = "/tmp/drover-bench-codex-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = CodexConfiguration(executable: codex, baseURL: server.baseURL, homeRoot: "\(directory)/home")
        let threshold = Duration.seconds(1)
        configuration.idleTimeout = threshold
        let times = Mutex<(last: ContinuousClock.Instant?, detected: ContinuousClock.Instant?)>((nil, nil))
        let lease = LeaseRef(leaseId: "bench/hang@1", plan: "bench", todo: "hang", epoch: 1)
        let task = TaskSpec(title: "hang", command: nil, prompt: "Say ok.", timeoutSeconds: 60, checks: [])
        _ = await CodexAgent(configuration: configuration).run(task: task, lease: lease, workdir: directory) { events in
            let now = ContinuousClock.now
            times.withLock { times in
                for event in events where times.detected == nil {
                    if event.kind == .detected { times.detected = now } else { times.last = now }
                }
            }
        }
        let (last, detected) = times.withLock { $0 }
        guard let last, let detected else { throw BenchError("the hang was not detected") }
        return [
            "threshold_seconds": .double(Double(threshold.milliseconds) / 1000),
            "detected_after_seconds": .double(Double((detected - last).milliseconds) / 1000),
        ]
    }

    /// CPU and memory the worker process spends per live codex session while the model streams tool calls fast.
    static func sessionOverhead(codex: String, sessions: Int, steps: Int) async throws -> [String: JSONValue] {
        let server = try ScriptedModelServer(script: ModelScript(Array(repeating: .shell("true"), count: steps) + [.message("done")]))
        defer { server.stop() }
        let directory = "/tmp/drover-bench-codex-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = CodexConfiguration(executable: codex, baseURL: server.baseURL, homeRoot: "\(directory)/home")
        let agent = CodexAgent(configuration: configuration)
        let eventCount = SimulationCounters()
        let before = usage()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<sessions {
                group.addTask {
                    let workdir = "\(directory)/w\(index)"
                    try? FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
                    let lease = LeaseRef(leaseId: "bench/s\(index)@1", plan: "bench", todo: "s\(index)", epoch: 1)
                    let task = TaskSpec(title: "s", command: nil, prompt: "Run true \(steps) times.", timeoutSeconds: 120, checks: [])
                    _ = await agent.run(task: task, lease: lease, workdir: workdir) { events in
                        eventCount.agentEvents.add(events.count, ordering: .relaxed)
                    }
                }
            }
        }
        let seconds = Double((ContinuousClock.now - start).milliseconds) / 1000
        let after = usage()
        let events = eventCount.agentEvents.load(ordering: .relaxed)
        return [
            "sessions": .int(Int64(sessions)), "model_round_trips_per_session": .int(Int64(steps + 1)), "seconds": .double(seconds),
            "agent_events": .int(Int64(events)), "agent_events_per_second": .double((Double(events) / seconds).rounded()),
            "worker_cpu_seconds_per_session": .double((after.cpu - before.cpu) / Double(sessions)),
            "worker_max_rss_mib": .double(after.maxRSSMiB),
            "codex_cpu_seconds_per_session": .double((after.childrenCPU - before.childrenCPU) / Double(sessions)),
        ]
    }

    private static func usage() -> (cpu: Double, childrenCPU: Double, maxRSSMiB: Double) {
        var own = rusage()
        var children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        func seconds(_ usage: rusage) -> Double {
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        }
        return (seconds(own), seconds(children), Double(own.ru_maxrss) / 1024)
    }
}
