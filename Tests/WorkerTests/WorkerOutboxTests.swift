import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// Reports in the outbox: sent, resent until acknowledged, then dropped.
@Suite struct WorkerOutboxTests {
    @Test func aReportIsResentUntilAckedThenDropped() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        harness.now += 1234
        let finished = try harness.finish("p/a@1")
        let report = try #require(try finished.bodies(.report, as: ReportBody.self).first)
        #expect(report.leaseId == "p/a@1")
        #expect(report.epoch == 1)
        #expect(report.outcome == .succeeded)
        #expect(report.durationMs == 1234)
        let id = try #require(finished.ids(.report).first)

        #expect(try harness.tick(advancing: 999).ids(.report) == [])
        #expect(try harness.tick(advancing: 1).ids(.report) == [id], "resent under the same id, so it counts once")
        #expect(try harness.tick(advancing: 1000).ids(.report) == [id])

        #expect(try harness.ack(id).all == [])
        #expect(try harness.tick(advancing: 1000).ids(.report) == [])
        let beat = try #require(try harness.tick(advancing: 1000).bodies(.heartbeat, as: HeartbeatBody.self).first)
        #expect(beat.leases == [], "an acknowledged report's lease is not held any more")
    }

    @Test func anAckForSomethingElseKeepsTheReport() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let id = try #require(try harness.finish("p/a@1").ids(.report).first)
        try harness.ack("c1-unrelated")
        #expect(try harness.tick(advancing: 1000).ids(.report) == [id])
    }

    @Test func aReportTheCoordinatorRefusesIsDroppedNotResentForever() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let id = try #require(try harness.finish("p/a@1").ids(.report).first)
        #expect(try harness.error(.badField, ref: id).all == [])
        #expect(try harness.tick(advancing: 1000).ids(.report) == [])
    }

    @Test func progressIsForwardedOnlyWhileTheLeaseIsOurs() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let events = [AgentEvent(kind: .output, stream: "stdout", text: "hi")]
        let sent = try harness.input(.progress(leaseID: "p/a@1", events))
        #expect(try sent.bodies(.progress, as: ProgressBody.self) == [ProgressBody(leaseId: "p/a@1", epoch: 1, events: events)])
        try harness.control(.abort, "p/a@1")
        #expect(try harness.input(.progress(leaseID: "p/a@1", events)).all == [])
        #expect(try harness.input(.progress(leaseID: "p/other@1", events)).all == [])
    }
}
