import DroverProtocol
import Foundation
import Synchronization
import Testing

@testable import Worker

/// An operator's guidance and pause requests reach the session of the lease they were sent for, and nothing else.
@Suite struct WorkerSteerTests {
    @Test func aSteerControlReachesTheSessionOfItsLease() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let steered = try harness.fromCoordinator(
            .control,
            ControlBody(action: .steer, leaseId: "p/a@1", reason: "an operator steered it", text: "use the v2 API")
        )
        #expect(steered.actions == [.steer(leaseID: "p/a@1", text: "use the v2 API")])
        // Not for a lease it does not hold, nor with no text.
        let other = try harness.fromCoordinator(.control, ControlBody(action: .steer, leaseId: "p/zz@1", reason: "x", text: "hi"))
        #expect(other.all.isEmpty)
        #expect(try harness.fromCoordinator(.control, ControlBody(action: .steer, leaseId: "p/a@1", reason: "x")).all.isEmpty)
    }

    @Test func aPauseControlAsksTheSessionAndItsPausedResultIsReported() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        #expect(try harness.control(.pause, "p/a@1").actions == [.pause(leaseID: "p/a@1")])
        let report = try harness.finish("p/a@1", .paused).bodies(.report, as: ReportBody.self)
        #expect(report.map(\.outcome) == [.paused])
    }

    @Test func theChannelHoldsGuidanceUntilTakenAndAClosedOneRefuses() {
        let channel = OperatorChannel()
        #expect(channel.steer("one"))
        #expect(channel.steer("two"))
        #expect(channel.takeSteers() == ["one", "two"])
        #expect(channel.takeSteers().isEmpty)
        channel.steer("three")
        channel.putBack(["late"])
        #expect(channel.takeSteers() == ["late", "three"])
        #expect(channel.pause())
        #expect(channel.pauseRequested)
        channel.steer("before")
        #expect(channel.close() == ["before"])
        #expect(!channel.steer("after"))
        #expect(!channel.pause())
    }

    @Test func aCommandSessionSaysItTakesNoGuidance() async {
        let channel = OperatorChannel()
        channel.steer("hello")
        let seen = EventBox()
        let context = AgentContext(
            events: { seen.add($0) },
            ask: { _ in HumanAnswer(decision: .deny) },
            recover: { _ in RecoveryVerdict(decision: .recover, reason: nil) },
            operatorInput: channel
        )
        let task = TaskSpec(title: "a", command: "true", prompt: nil, timeoutSeconds: nil, checks: [])
        let lease = LeaseRef(leaseId: "p/a@1", plan: "p", todo: "a", epoch: 1)
        let result = await CommandAgent().run(task: task, lease: lease, workdir: FileManager.default.currentDirectoryPath, context: context)
        #expect(result.outcome == .succeeded)
        #expect(seen.events.contains { $0.kind == .steered && $0.text?.contains("not delivered: this session runs a command") == true })
        #expect(!channel.steer("later"))
    }
}

/// Agent events collected from any thread.
final class EventBox: Sendable {
    private let events_ = Mutex<[AgentEvent]>([])
    func add(_ new: [AgentEvent]) { events_.withLock { $0 += new } }
    var events: [AgentEvent] { events_.withLock { $0 } }
}
