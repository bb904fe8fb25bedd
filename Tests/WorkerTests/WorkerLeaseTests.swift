import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// Taking leases, and losing them: cancel, abort, `stale_lease`, `welcome.abort`.
@Suite struct WorkerLeaseTests {
    @Test func anAssignStartsTheWorkAndIsAcceptedWhileASlotIsFree() throws {
        let harness = WorkerHarness()
        try harness.registered()
        let first = try harness.assign("a")
        #expect(first.actions == [.start(WorkerHarness.assign("a"))])
        #expect(try first.bodies(.accept, as: LeaseAnswerBody.self) == [LeaseAnswerBody(leaseId: "p/a@1", epoch: 1)])

        let full = try harness.assign("b")
        #expect(full.actions == [])
        #expect(try full.bodies(.reject, as: LeaseAnswerBody.self).map(\.reason) == ["no free slot"])

        // The same assign again (its accept was lost): accepted again, not started twice.
        let again = try harness.assign("a")
        #expect(again.actions == [])
        #expect(again.types == [.accept])
    }

    @Test func aStaleLeaseErrorAbortsTheRunAndDropsItsReports() throws {
        let harness = WorkerHarness(slots: 2)
        try harness.registered()
        try harness.assign("a")
        try harness.assign("b")
        try harness.finish("p/b@1")

        #expect(try harness.error(.staleLease, leaseID: "p/a@1").actions == [.abort(leaseID: "p/a@1")])
        #expect(try harness.finish("p/a@1", .cancelled).all == [], "an aborted run reports nothing")
        // A finished lease: its unacknowledged report is dropped instead of resent.
        #expect(try harness.error(.staleLease, leaseID: "p/b@1").all == [])
        let later = try harness.tick(advancing: 1000)
        #expect(later.ids(.report) == [])
        #expect(try later.bodies(.heartbeat, as: HeartbeatBody.self).first?.leases == [])
    }

    @Test func welcomeAbortStopsTheLeasesThatAreNotOursAnyMore() throws {
        let harness = WorkerHarness(slots: 2)
        try harness.registered()
        try harness.assign("a")
        try harness.assign("b")
        harness.instance = "c2"
        try harness.heartbeat()

        let welcomed = try harness.welcome(abort: ["p/a@1"])
        #expect(welcomed.actions == [.abort(leaseID: "p/a@1")])
        // A coordinator that lost its state may hand out the same id while the aborted run is still stopping.
        let reissued = try harness.assign("a")
        #expect(reissued.actions == [])
        #expect(try reissued.bodies(.reject, as: LeaseAnswerBody.self).map(\.reason) == ["an aborted run of this lease is still stopping"])

        #expect(try harness.finish("p/a@1").all == [])
        let beat = try #require(try harness.tick().bodies(.heartbeat, as: HeartbeatBody.self).first)
        #expect(beat.leases == ["p/b@1"])
    }

    @Test func cancelStopsTheRunAndReportsCancelled() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        #expect(try harness.control(.cancel, "p/a@1").actions == [.cancel(leaseID: "p/a@1")])
        let report = try harness.finish("p/a@1", .cancelled).bodies(.report, as: ReportBody.self)
        #expect(report.map(\.outcome) == [.cancelled])
    }

    @Test func theReportCarriesTheSessionsAnswer() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        var result = AgentResult(outcome: .succeeded, exitCode: 0, summary: "answered")
        result.output = #"{"title":"t","todos":[]}"#
        let report = try harness.input(.finished(leaseID: "p/a@1", result)).bodies(.report, as: ReportBody.self)
        #expect(report.map(\.output) == [#"{"title":"t","todos":[]}"#])
    }

    @Test func theReportCarriesWhatAMergeCameTo() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        var result = AgentResult(outcome: .failed, summary: "merging drover/p/a conflicts in README: nothing pushed")
        let merge = MergeResult(outcome: .conflict, head: "abc1234", conflicts: ["README"], detail: "<<<<<<< HEAD")
        result.merge = merge
        let report = try harness.input(.finished(leaseID: "p/a@1", result)).bodies(.report, as: ReportBody.self)
        #expect(report.map(\.merge) == [merge])
    }

    @Test func controlAbortStopsTheRunAndReportsNothing() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        #expect(try harness.control(.abort, "p/a@1").actions == [.abort(leaseID: "p/a@1")])
        #expect(try harness.finish("p/a@1", .cancelled).all == [])
        // The slot is free again.
        #expect(try harness.assign("b").types == [.accept])
    }

    @Test func stoppingALeaseThatIsNotRunningDoesNothing() throws {
        let harness = WorkerHarness()
        try harness.registered()
        #expect(try harness.control(.cancel, "p/x@1").all == [])
        #expect(try harness.error(.staleLease, leaseID: "p/x@1").all == [])
        #expect(try harness.finish("p/x@1").all == [])
    }
}
