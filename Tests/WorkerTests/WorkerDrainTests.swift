import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// Graceful shutdown: no new work, running work finished or handed back, reports flushed, then `bye`.
@Suite struct WorkerDrainTests {
    @Test func drainingRejectsNewWorkAndLeavesOnceTheWorkIsReported() throws {
        let harness = WorkerHarness(slots: 2)
        try harness.registered()
        try harness.assign("a")

        let drain = try harness.input(.drain)
        #expect(try drain.bodies(.heartbeat, as: HeartbeatBody.self) == [HeartbeatBody(leases: ["p/a@1"], draining: true)])
        let assign = try harness.assign("b")
        #expect(assign.actions == [])
        #expect(try assign.bodies(.reject, as: LeaseAnswerBody.self).map(\.reason) == ["draining"])

        let id = try #require(try harness.finish("p/a@1").ids(.report).first)
        #expect(try harness.tick(advancing: 500).types.contains(.bye) == false, "not before the report is acknowledged")
        let acked = try harness.ack(id)
        #expect(acked.types == [.bye])
        #expect(acked.actions == [.done])
        #expect(harness.core.isDone)
        #expect(try harness.tick(advancing: 500).all == [], "nothing after bye")
    }

    @Test func aWorkerWithNothingToDoLeavesAtOnce() throws {
        let harness = WorkerHarness()
        try harness.registered()
        let drain = try harness.input(.drain)
        #expect(drain.types == [.heartbeat, .bye])
        #expect(drain.actions == [.done])
    }

    @Test func workStillRunningAtTheDrainTimeoutIsHandedBack() throws {
        let harness = WorkerHarness(drainTimeout: .seconds(2))
        try harness.registered()
        try harness.assign("a")
        try harness.input(.drain)
        #expect(try harness.tick(advancing: 1999).actions == [])
        #expect(try harness.tick(advancing: 1).actions == [.cancel(leaseID: "p/a@1")])
        #expect(try harness.tick(advancing: 500).actions == [], "cancelled once")

        let finished = try harness.finish("p/a@1", .cancelled)
        let report = try #require(try finished.bodies(.report, as: ReportBody.self).first)
        #expect(report.outcome == .handedBack)
        #expect(report.summary == "the worker is shutting down")
        let acked = try harness.ack(try #require(finished.ids(.report).first))
        #expect(acked.types == [.bye])
        #expect(acked.actions == [.done])
    }

    @Test func workThatEndsOtherwiseAfterTheTimeoutKeepsItsOutcome() throws {
        let harness = WorkerHarness(drainTimeout: .seconds(1))
        try harness.registered()
        try harness.assign("a")
        try harness.input(.drain)
        try harness.tick(advancing: 1000)
        let report = try harness.finish("p/a@1", .succeeded).bodies(.report, as: ReportBody.self)
        #expect(report.map(\.outcome) == [.succeeded])
    }

    @Test func anUnreachableCoordinatorCannotHoldTheWorkerForEver() throws {
        let harness = WorkerHarness(drainTimeout: .seconds(1))
        try harness.registered()
        try harness.assign("a")
        try harness.input(.drain)
        try harness.finish("p/a@1")
        // The report is never acknowledged: it is resent until the flush limit (drain timeout + 5 s), then abandoned.
        #expect(try harness.tick(advancing: 6000).types.contains(.bye) == false)
        let last = try harness.tick(advancing: 1)
        #expect(last.types.last == .bye)
        #expect(last.actions == [.done])
    }

    @Test func aWorkerThatDrainsBeforeItIsWelcomedRegistersAsDraining() throws {
        let harness = WorkerHarness()
        try harness.tick()
        #expect(try harness.input(.drain).types == [.bye], "nothing held: it leaves at once")

        let busy = WorkerHarness()
        try busy.registered()
        try busy.assign("a")
        busy.instance = "c2"
        try busy.heartbeat()
        #expect(try busy.input(.drain).types == [], "no heartbeat to a coordinator that has not welcomed it")
        let register = try #require(try busy.tick(advancing: 500).bodies(.register, as: RegisterBody.self).first)
        #expect(register.draining)
        #expect(register.holding.map(\.leaseId) == ["p/a@1"])
    }
}
