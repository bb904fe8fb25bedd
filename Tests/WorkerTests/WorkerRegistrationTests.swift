import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// Registering, heartbeats, and registering again when the coordinator restarted or forgot the worker.
@Suite struct WorkerRegistrationTests {
    @Test func registersOnStartAndAgainEveryHeartbeatUntilWelcomed() throws {
        let harness = WorkerHarness()
        let first = try harness.tick()
        #expect(first.types == [.register])
        let body = try #require(try first.bodies(.register, as: RegisterBody.self).first)
        #expect(body == RegisterBody(worker: "w1", host: "test", slots: 1, labels: [], holding: [], draining: false))
        #expect(try harness.tick(advancing: 499).types == [])
        #expect(try harness.tick(advancing: 1).types == [.register])
        // No heartbeats before the welcome, however long it takes.
        #expect(try harness.tick(advancing: 100).types == [])

        #expect(try harness.welcome(heartbeatMs: 200).types == [])
        #expect(try harness.tick().types == [.heartbeat])
        #expect(try harness.tick(advancing: 199).types == [])
        // The welcome's interval, not the configured one.
        #expect(try harness.tick(advancing: 1).types == [.heartbeat])
    }

    @Test func heartbeatsListTheLeasesHeld() throws {
        let harness = WorkerHarness(slots: 2)
        try harness.registered()
        try harness.assign("a")
        try harness.assign("b")
        try harness.finish("p/b@1")
        let beat = try #require(try harness.tick().bodies(.heartbeat, as: HeartbeatBody.self).first)
        // b is done but its report is not acknowledged yet: still held.
        #expect(beat.leases == ["p/a@1", "p/b@1"])
        #expect(beat.draining == nil)
    }

    @Test func aCoordinatorRestartMakesItRegisterAgainDeclaringWhatItHolds() throws {
        let harness = WorkerHarness(slots: 2)
        try harness.registered()
        try harness.assign("a")
        try harness.assign("b")
        let report = try harness.finish("p/b@1").ids(.report)
        #expect(try harness.heartbeat().types == [], "the same coordinator")

        harness.instance = "c2"
        let again = try harness.heartbeat()
        #expect(again.types == [.register])
        let body = try #require(try again.bodies(.register, as: RegisterBody.self).first)
        #expect(body.holding.map(\.leaseId) == ["p/a@1", "p/b@1"])
        #expect(body.holding.map(\.epoch) == [1, 1])
        // Unregistered again: no heartbeats, and no resending into the void until welcomed.
        #expect(try harness.tick(advancing: 200).types == [])

        let welcomed = try harness.welcome()
        #expect(welcomed.ids(.report) == report, "the unacknowledged report goes out at once, under its own id")
        #expect(try harness.heartbeat().types == [], "the new instance is now the known one")
    }

    @Test func unknownWorkerMakesItRegisterAgainOncePerHeartbeat() throws {
        let harness = WorkerHarness()
        try harness.registered()
        #expect(try harness.error(.unknownWorker).types == [.register])
        // More refusals of messages sent before the coordinator saw the register: one register is enough.
        #expect(try harness.error(.unknownWorker).types == [])
        harness.now += 501
        #expect(try harness.error(.unknownWorker).types == [.register])
        #expect(try harness.welcome().types == [])
        #expect(try harness.tick().types == [.heartbeat])
    }

    @Test func badMessagesFromTheCoordinatorAreIgnored() throws {
        let harness = WorkerHarness()
        try harness.registered()
        #expect(try harness.input(.messages([[Data("{}".utf8)]])).all == [])
        #expect(try harness.input(.messages([[Data("{".utf8), Data("{}".utf8)]])).all == [])
        #expect(try harness.fromCoordinator(.register, RegisterBody(worker: "x", host: "x", slots: 1, labels: [], holding: [])).all == [])
        #expect(try harness.tick(advancing: 500).types == [.heartbeat])
    }
}
