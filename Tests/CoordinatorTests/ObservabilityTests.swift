import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// Prometheus metrics and the audit log, driven through the core.
@Suite struct ObservabilityTests {
    /// The value of one series in the exposition text, e.g. `drover_todos{state="done"}`.
    func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func metricsArePresentAndMove() throws {
        let harness = try CoreHarness()
        let metrics = harness.core.metrics
        try harness.tick(advancing: 500)
        var text = metrics.exposition()
        #expect(value("drover_workers", in: text) == 0)
        #expect(value(#"drover_todos{state="done"}"#, in: text) == 0)

        try harness.register("w1", slots: 2)
        try harness.raw(0, [Data("w1".utf8), Data("{".utf8), Data("{}".utf8)])
        let assigns = try harness.submit(plan([Todo(id: "a", command: "true"), Todo(id: "b", command: "true")])).assigns()
        for assign in assigns { try harness.report("w1", assign) }
        try harness.tick(advancing: 500)
        text = metrics.exposition()
        #expect(value("drover_workers", in: text) == 1)
        #expect(value("drover_worker_slots", in: text) == 2)
        #expect(value(#"drover_todos{state="done"}"#, in: text) == 2)
        #expect(value(#"drover_rejected_messages_total{code="bad_json"}"#, in: text) == 1)
        #expect(value("drover_queue_latency_seconds_count", in: text) == 2)
        #expect((value("drover_events_total", in: text) ?? 0) >= 6, "submitted, ready ×2, assigned ×2, done ×2…")

        // Silence: the worker is lost, and its lease expiry is counted.
        let third = try harness.submit(plan([Todo(id: "c", command: "true")], id: "q")).assigns()
        #expect(third.count == 1)
        try harness.tick(advancing: 2500)
        #expect(value("drover_lease_expiries_total", in: metrics.exposition()) == 1)
    }

    @Test func jobsAreCountedByState() throws {
        let harness = try CoreHarness()
        try harness.control(.job, JobRequest(action: .start, job: "j1", goal: "g", repository: "/r"))
        try harness.control(.job, JobRequest(action: .start, job: "j2", goal: "g", repository: "/r"))
        let cancelled = try harness.control(.job, JobRequest(action: .cancel, job: "j2"))
        #expect(try cancelled.errors().isEmpty)
        #expect(harness.core.jobs["j2"]?.state == .cancelled)
        try harness.tick(advancing: 500)
        let text = harness.core.metrics.exposition()
        #expect(value(#"drover_jobs{state="classify"}"#, in: text) == 1)
        #expect(value(#"drover_jobs{state="cancelled"}"#, in: text) == 1)
        #expect(value(#"drover_jobs{state="done"}"#, in: text) == 0)
    }

    @Test func detectionsAndPolicyDecisionsAreCountedByClassAndAction() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "go")])).assigns()[0]
        try harness.fromWorker(
            "w1",
            .progress,
            ProgressBody(
                leaseId: assign.lease.leaseId,
                epoch: 1,
                events: [AgentEvent(kind: .detected, text: "no event for 1 s", detection: .hung)]
            )
        )
        try harness.fromWorker(
            "w1",
            .recover,
            RecoverBody(
                leaseId: assign.lease.leaseId,
                epoch: 1,
                item: "r1",
                detection: .hung,
                proposal: "resume with a nudge",
                evidence: "no event for 1 s"
            )
        )
        let text = harness.core.metrics.exposition()
        #expect(value(#"drover_detections_total{class="hung"}"#, in: text) == 1)
        #expect(text.contains(#"drover_recoveries_total{detection="hung",decision="recover",action="resume with a nudge"} 1"#))
    }

    @Test func workFactsSurviveTheirHandWrittenJSON() throws {
        var facts = WorkFacts(startedAt: 5, finishedAt: nil, durationMs: 1200, files: [#"src/"odd" name.swift"#, "a\\b"], tokens: 42)
        #expect(try JSONDecoder().decode(WorkFacts.self, from: Data(facts.json.utf8)) == facts)
        facts.checks = [CheckResult(check: "command `make \"all\"`", passed: false, detail: "exit 2\nno rule")]
        facts.diffStat = DiffStat(files: 2, insertions: 10, deletions: 1)
        #expect(try JSONDecoder().decode(WorkFacts.self, from: Data(facts.json.utf8)) == facts)
        facts = WorkFacts()
        #expect(facts.json == "{}")
        #expect(try JSONDecoder().decode(WorkFacts.self, from: Data(facts.json.utf8)) == facts)
    }

    @Test func aRestartedCoordinatorKeepsWhatTheReviewNeeds() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-facts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "true"), Todo(id: "b", command: "true", dependsOn: ["a"])])).assigns()[
            0
        ]
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1))
        try harness.fromWorker(
            "w1",
            .report,
            ReportBody(
                leaseId: assign.lease.leaseId,
                epoch: 1,
                outcome: .succeeded,
                exitCode: 0,
                summary: "ok",
                outputTail: "",
                durationMs: 30_000,
                checks: [],
                tokens: 7,
                files: ["x.swift"]
            )
        )
        try harness.restart()
        let facts = try #require(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts)
        #expect(facts.durationMs == 30_000)
        #expect(facts.tokens == 7)
        #expect(facts.files == ["x.swift"])
        #expect(facts.startedAt != nil && facts.finishedAt != nil)
        let review = try harness.core.review(ReviewRequest())
        #expect(review.eta?.sampleP50 == 30, "the finished duration is there to estimate from")
    }

    @Test func theAuditLogHasEveryDecisionWithItsReasonAndRotates() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/audit.jsonl"
        let harness = try CoreHarness(auditLogPath: path, auditLogMaxBytes: 2000)
        try harness.register("w1")
        for round in 0..<6 {
            let assign = try harness.submit(plan([Todo(id: "a", command: "true")], id: "p\(round)")).assigns()[0]
            try harness.fromWorker(
                "w1",
                .progress,
                ProgressBody(leaseId: assign.lease.leaseId, epoch: 1, events: [AgentEvent(kind: .output, text: "chatter")])
            )
            try harness.report("w1", assign, .failed)
        }
        harness.core.audit?.flush()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files.contains("audit.jsonl") && files.contains("audit.jsonl.1"), "rotated past 2000 bytes: \(files)")
        var lines: [[String: JSONValue]] = []
        for file in files.reversed() {  // oldest first: .N … .1, then the current file
            let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            for line in text.split(separator: "\n") {
                lines.append(try JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8)))
            }
        }
        let decisions = lines.compactMap { $0["decision"]?.stringValue }
        #expect(!decisions.contains("agent.output"), "agent output is not a decision")
        #expect(decisions.contains("todo.assigned"))
        let failed = try #require(lines.last { $0["decision"]?.stringValue == "todo.failed" })
        #expect(failed["reason"]?.stringValue == "failed", "the report's summary is the reason")
        #expect(failed["todo"]?.stringValue == "a")
        let seqs = lines.compactMap { $0["seq"]?.intValue }
        #expect(seqs == seqs.sorted(), "in order across the rotated files")
    }
}
