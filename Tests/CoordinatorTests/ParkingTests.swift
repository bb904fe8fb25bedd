import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// A usage limit parks a TODO until its reset: its slot is freed, it waits, and the tick makes it ready again.
@Suite struct ParkingTests {
    static let evidence = "You've hit your usage limit. Try again at 5:46 PM."

    /// Reports `assign`'s work parked until `resumeAt` (wall-clock ms).
    @discardableResult
    func park(_ harness: CoreHarness, _ worker: String, _ assign: AssignBody, until resumeAt: Int64) throws -> [Sent] {
        let summary = "parked until \(CoordinatorCore.format(resumeAt)): \(Self.evidence)"
        return try harness.report(worker, assign, .parked, resumeAt: resumeAt, summary: summary)
    }

    @Test func aParkedTodoFreesItsSlotForAnotherAndWaitsWithItsTime() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 1)
        let first = try #require(try harness.submit(plan([Todo(id: "a", prompt: "go"), Todo(id: "b", prompt: "go")])).assigns().first)
        #expect(first.lease.todo == "a")
        let resumeAt = harness.wallNow + 60_000
        let sent = try park(harness, "w1", first, until: resumeAt)
        #expect(try sent.assigns(to: "w1").map(\.lease.todo) == ["b"], "the slot went to the other TODO")
        #expect(harness.state("p", "a") == "waiting")
        let todo = try #require(harness.core.todos[TodoKey(plan: "p", todo: "a")])
        #expect(todo.facts.resumeAt == resumeAt)
        #expect(todo.attempts == 0, "a parked TODO is not a failed attempt")
        #expect(todo.worker == nil)
        let parked = try #require(sent.events.first { $0.type == .todoParked })
        #expect(parked.data["resume_at"] == .int(resumeAt))
        #expect(parked.data["evidence"] == .string(Self.evidence))
        #expect(harness.core.status(of: todo).resumeAt == resumeAt)
        #expect(harness.core.status(of: todo).detail == "parked until \(CoordinatorCore.format(resumeAt)): \(Self.evidence)")
    }

    @Test func atItsResetItIsReadyAgainAtTheFrontAndGoesOutUnderTheNextEpochToldItWasParked() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 1)
        let first = try #require(try harness.submit(plan([Todo(id: "a", prompt: "go")])).assigns().first)
        try park(harness, "w1", first, until: harness.wallNow + 60_000)
        #expect(try harness.tick(advancing: 59_000).eventTypes.contains("todo.resumed") == false)
        #expect(harness.state("p", "a") == "waiting")
        try harness.register("w1", slots: 1)  // silent for a minute, it was lost: it comes back
        let resumed = try harness.tick(advancing: 1000)
        #expect(resumed.eventTypes.contains("todo.resumed"))
        let again = try #require(try resumed.assigns(to: "w1").first)
        #expect(again.lease.todo == "a")
        #expect(again.lease.epoch == 2)
        #expect(again.task.handover?.contains("stopped by a usage limit and was parked until it reset") == true)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.resumeAt == nil)
    }

    @Test func aResumedTodoGoesBeforeTodosThatWereQueued() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 1)
        let first = try #require(
            try harness.submit(plan([Todo(id: "a", prompt: "go"), Todo(id: "b", prompt: "go"), Todo(id: "c", prompt: "go")])).assigns()
                .first
        )
        let b = try #require(try park(harness, "w1", first, until: harness.wallNow + 1000).assigns().first)
        try harness.tick(advancing: 1000)
        #expect(harness.state("p", "a") == "ready")
        let next = try harness.report("w1", b)
        #expect(try next.assigns().map(\.lease.todo) == ["a"], "the resumed TODO goes out before c")
    }

    @Test func aRestartKeepsTheWait() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-park-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path)
        try harness.register("w1")
        let first = try #require(try harness.submit(plan([Todo(id: "a", prompt: "go")])).assigns().first)
        let resumeAt = harness.wallNow + 30_000
        try park(harness, "w1", first, until: resumeAt)

        try harness.restart()
        #expect(harness.state("p", "a") == "waiting")
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.resumeAt == resumeAt)
        #expect(try harness.tick(advancing: 29_000).assigns().isEmpty)
        try harness.register("w1")
        let again = try #require(try harness.tick(advancing: 1000).assigns(to: "w1").first)
        #expect(again.lease.epoch == 2)
    }

    @Test func aResetBeyondMaxParkEscalatesNamingTheTime() throws {
        let harness = try CoreHarness(maxPark: .seconds(3600))
        try harness.register("w1")
        let first = try #require(
            try harness.submit(plan([Todo(id: "a", prompt: "go"), Todo(id: "b", prompt: "go", dependsOn: ["a"])])).assigns().first
        )
        let resumeAt = harness.wallNow + 2 * 3_600_000
        let sent = try park(harness, "w1", first, until: resumeAt)
        #expect(harness.state("p", "a") == "escalated")
        #expect(harness.state("p", "b") == "skipped")
        let detail = try #require(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.detail)
        #expect(detail.contains("resets at \(CoordinatorCore.format(resumeAt)), 2h away, beyond --max-park (1h)"))
        #expect(detail.contains(Self.evidence))
        let escalated = try #require(sent.events.first { $0.type == .todoEscalated })
        #expect(escalated.data["resume_at"] == .int(resumeAt))
        #expect(!sent.eventTypes.contains("todo.parked"))
    }

    @Test func parkingIsNotAFailedAttempt() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let first = try #require(try harness.submit(plan([Todo(id: "a", prompt: "go", maxAttempts: 1)])).assigns().first)
        try park(harness, "w1", first, until: harness.wallNow + 1000)
        let second = try #require(try harness.tick(advancing: 1000).assigns().first)
        try park(harness, "w1", second, until: harness.wallNow + 1000)
        let third = try #require(try harness.tick(advancing: 1000).assigns().first)
        #expect(third.lease.epoch == 3)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.attempts == 0)
        try harness.report("w1", third)
        #expect(harness.state("p", "a") == "done")
    }

    @Test func aParkedReportWithoutItsTimeIsRefused() throws {
        let report = ReportBody(
            leaseId: "p/a@1",
            epoch: 1,
            outcome: .parked,
            exitCode: 1,
            summary: "x",
            outputTail: "",
            durationMs: 1,
            checks: []
        )
        #expect(throws: ProtocolError.self) { try report.validate() }
        var other = report
        (other.outcome, other.resumeAt) = (.failed, 1)
        #expect(throws: ProtocolError.self) { try other.validate() }
        other.outcome = .parked
        try other.validate()
    }

    @Test func aParkedTodosEtaStartsAtItsReset() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        let sent = try harness.submit(plan([Todo(id: "a", prompt: "go"), Todo(id: "b", prompt: "go")]))
        let (a, b) = (try sent.assigns()[0], try sent.assigns()[1])
        try harness.report("w1", b)  // a finished TODO, a duration to estimate from
        try park(harness, "w1", a, until: wallClockMilliseconds() + 3_600_000)
        let eta = try #require(try harness.core.review(ReviewRequest(plan: "p")).eta)
        #expect(eta.p50Seconds >= 3590, "the ETA starts at the reset, an hour away")
    }
}
