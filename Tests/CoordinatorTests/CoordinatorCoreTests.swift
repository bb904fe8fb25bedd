import DroverProtocol
import DroverTransport
import Foundation
import Testing

@testable import Coordinator

@Suite struct SchedulingTests {
    @Test func readyTodosGoOutInDependencyOrder() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        let sent = try harness.submit(
            plan([
                Todo(id: "a", command: "true"), Todo(id: "b", command: "true", dependsOn: ["a"]),
                Todo(id: "c", command: "true", dependsOn: ["a"]),
            ])
        )
        let first = try sent.assigns(to: "w1")
        #expect(first.map(\.lease.todo) == ["a"])
        #expect(first[0].lease.epoch == 1)
        #expect(first[0].lease.leaseId == "p/a@1")
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: "p/a@1", epoch: 1))
        #expect(harness.state("p", "a") == "running")
        let afterA = try harness.report("w1", first[0])
        #expect(Set(try afterA.assigns(to: "w1").map(\.lease.todo)) == ["b", "c"])
        #expect(afterA.contains { $0.header?.type == .ack })
    }

    @Test func labelsDecideWhichWorkerGetsATodo() throws {
        let harness = try CoreHarness()
        try harness.register("plain", slots: 4)
        try harness.register("gpu", slots: 1, labels: ["gpu"])
        let sent = try harness.submit(plan([Todo(id: "train", command: "true", labels: ["gpu"]), Todo(id: "lint", command: "true")]))
        #expect(try sent.assigns(to: "gpu").map(\.lease.todo) == ["train"])
        #expect(try sent.assigns(to: "plain").map(\.lease.todo) == ["lint"])
    }

    @Test func aTodoNoWorkerCanTakeWaitsWithoutBlockingOthers() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        let sent = try harness.submit(plan([Todo(id: "mac", command: "true", labels: ["macos"]), Todo(id: "linux", command: "true")]))
        #expect(try sent.assigns().map(\.lease.todo) == ["linux"])
        #expect(harness.state("p", "mac") == "ready")
    }

    @Test func failedTodoIsRetriedThenFailsAndSkipsItsDependents() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let sent = try harness.submit(
            plan([Todo(id: "a", command: "false", maxAttempts: 2), Todo(id: "b", command: "true", dependsOn: ["a"])])
        )
        let retry = try harness.report("w1", try sent.assigns()[0], .failed)
        #expect(retry.eventTypes.contains("todo.retry"))
        let second = try retry.assigns()
        #expect(second.first?.lease.epoch == 2)
        let end = try harness.report("w1", second[0], .failed)
        #expect(harness.state("p", "a") == "failed")
        #expect(harness.state("p", "b") == "skipped")
        #expect(end.eventTypes.contains("plan.failed"))
        #expect(harness.core.todos.plans["p"]?.state == .failed)
    }

    @Test func resubmittingTheSamePlanIsAcceptedAndADifferentOneWithItsIdIsRefused() throws {
        let harness = try CoreHarness()
        let original = plan([Todo(id: "a", command: "true")])
        let first = try harness.submit(original)
        #expect(try first.first { $0.header?.type == .submit }?.decode(SubmittedBody.self).created == true)
        let again = try harness.submit(original)
        #expect(try again.first { $0.header?.type == .submit }?.decode(SubmittedBody.self).created == false)
        let clash = try harness.submit(plan([Todo(id: "b", command: "true")]))
        #expect(try clash.errors().first?.code == .rejected)
    }

    @Test func eventSequenceNumbersHaveNoHoles() throws {
        let harness = try CoreHarness()
        var events: [Event] = []
        events += try harness.register("w1").events
        let sent = try harness.submit(plan([Todo(id: "a", command: "true"), Todo(id: "b", command: "true", dependsOn: ["a"])]))
        events += sent.events
        let next = try harness.report("w1", try sent.assigns()[0])
        events += next.events
        events += try harness.report("w1", try next.assigns()[0]).events
        let seqs = events.map(\.seq)
        #expect(seqs == Array(seqs[0]...seqs[0] + Int64(seqs.count - 1)))
        #expect(events.suffix(2).map(\.type) == [.planDone, .planFinalized])
    }
}

@Suite struct LeaseTests {
    @Test func silentWorkerLosesItsLeaseAndTheTodoGoesElsewhereWithTheNextEpoch() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns(to: "w1")[0]
        try harness.register("w2")
        try harness.tick(advancing: 1500)
        try harness.fromWorker("w2", .heartbeat, HeartbeatBody(leases: []))
        #expect(harness.state("p", "a") == "assigned")
        let expired = try harness.tick(advancing: 1000)
        #expect(expired.eventTypes.contains("worker.lost"))
        let reassigned = try expired.assigns(to: "w2")
        #expect(reassigned.first?.lease.epoch == 2)
        #expect(harness.core.counters["lease_expired"] == 1)

        // The old owner comes back and reports under epoch 1: refused, and told to abort.
        let unknown = try harness.report("w1", assign)
        #expect(try unknown.errors().first?.code == .unknownWorker)
        try harness.register("w1")
        let stale = try harness.report("w1", assign)
        let error = try #require(try stale.errors().first)
        #expect(error.code == .staleLease)
        #expect(error.leaseId == "p/a@1")
        #expect(harness.state("p", "a") == "assigned")
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.worker == "w2")
    }

    @Test func duplicateReportIsAcknowledgedAgainButProcessedOnce() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns()[0]
        let first = try harness.report("w1", assign, seq: 77)
        let second = try harness.report("w1", assign, seq: 77)
        #expect(first.filter { $0.header?.type == .ack }.count == 1)
        #expect(second.filter { $0.header?.type == .ack }.count == 1)
        #expect(first.eventTypes.filter { $0 == "todo.done" }.count == 1)
        #expect(!second.eventTypes.contains("todo.done"))
        #expect(harness.core.counters["duplicate_reports"] == 1)
    }

    @Test func assignNeverAcceptedIsRequeued() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(plan([Todo(id: "a", command: "true")]))
        for _ in 0..<5 {
            try harness.tick(advancing: 500)
            try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: []))
        }
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]!.epoch >= 2)
        #expect(harness.core.counters["requeued", default: 0] >= 1)
    }

    @Test func rejectedTodoGoesToAnotherWorkerAndIsNotOfferedToTheRejecterForAWhile() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns()[0]
        let afterReject = try harness.fromWorker(
            "w1",
            .reject,
            LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1, reason: "no free slot")
        )
        #expect(afterReject.eventTypes.contains("todo.requeued"))
        #expect(try afterReject.assigns().isEmpty)
        // Without this, a worker that always refuses would be offered the TODO twice a second, for ever.
        try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: []))
        #expect(try harness.tick(advancing: 600).assigns().isEmpty)
        let other = try harness.register("w2")
        #expect(try other.assigns(to: "w2").first?.lease.epoch == 2)
    }

    @Test func aRejecterIsAskedAgainLater() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns()[0]
        try harness.fromWorker("w1", .reject, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1, reason: "busy"))
        var offered: [AssignBody] = []
        for _ in 0..<12 where offered.isEmpty {
            try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: []))
            offered = try harness.tick(advancing: 500).assigns(to: "w1")
        }
        #expect(offered.first?.lease.epoch == 2)
        #expect(harness.now >= 5000)
    }

    @Test func byeRequeuesAtOnce() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(plan([Todo(id: "a", command: "true")]))
        try harness.register("w2")
        let sent = try harness.fromWorker("w1", .bye, ByeBody(reason: "shutting down"))
        #expect(sent.eventTypes.contains("worker.left"))
        #expect(try sent.assigns(to: "w2").first?.lease.epoch == 2)
    }

    @Test func registrationKeepsDeclaredLeasesAndAbortsUnknownOnes() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        let assign = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns()[0]
        let ghost = LeaseRef(leaseId: "p/zz@9", plan: "p", todo: "zz", epoch: 9)
        let sent = try harness.register("w1", slots: 2, holding: [assign.lease, ghost])
        let welcome = try #require(sent.first { $0.header?.type == .welcome }).decode(WelcomeBody.self)
        #expect(welcome.abort == ["p/zz@9"])
        // Declaring the lease is as good as accepting it: the accept timeout no longer applies.
        #expect(harness.state("p", "a") == "running")
    }

    @Test func reRegisteringWithoutALeaseGivesItUp() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(plan([Todo(id: "a", command: "true")]))
        let sent = try harness.register("w1")
        #expect(sent.eventTypes.contains("todo.requeued"))
        #expect(try sent.assigns(to: "w1").first?.lease.epoch == 2)
    }
}

@Suite struct RecoveryTests {
    @Test func restartedCoordinatorKeepsLeasesItsWorkersClaimAndExpiresTheRest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path)
        try harness.register("w1")
        try harness.register("w2")
        let sent = try harness.submit(plan([Todo(id: "a", command: "true"), Todo(id: "b", command: "true")]))
        let onW1 = try #require(try sent.assigns(to: "w1").first)
        let onW2 = try #require(try sent.assigns(to: "w2").first)
        let lastSeq = harness.core.lastSeq

        try harness.restart()
        #expect(harness.core.lastSeq == lastSeq + 1)  // coordinator.started
        #expect(harness.state("p", onW1.lease.todo) == "assigned")
        // w1 comes back holding its lease and reports; w2 never comes back.
        let welcome = try #require(try harness.register("w1", holding: [onW1.lease]).first { $0.header?.type == .welcome })
        #expect(try welcome.decode(WelcomeBody.self).abort.isEmpty)
        try harness.report("w1", onW1)
        #expect(harness.state("p", onW1.lease.todo) == "done")
        try harness.tick(advancing: 1500)
        try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: []))
        #expect(harness.state("p", onW2.lease.todo) == "assigned")
        let expired = try harness.tick(advancing: 1000)
        #expect(expired.eventTypes.contains("todo.requeued"))
        let again = try #require(try expired.assigns(to: "w1").first)
        #expect(again.lease.todo == onW2.lease.todo)
        #expect(again.lease.epoch == 2)
    }
}

@Suite struct RefusalTests {
    static let badFrames: [([Data], ProtocolError.Code)] = [
        ([Data("only-one".utf8)], .badFrames),
        ([Data("{nope".utf8), Data("{}".utf8)], .badJSON),
        ([Data(#"{"v":2,"type":"heartbeat","id":"x","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unsupportedVersion),
        ([Data(#"{"v":1,"type":"launch","id":"x","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unknownType),
        ([Data(#"{"v":1,"type":"register","id":"x","seq":1,"ts":0}"#.utf8), Data(#"{"worker":"rogue"}"#.utf8)], .badField),
        ([Data(#"{"v":1,"type":"heartbeat","id":"x","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unknownWorker),
        ([Data(#"{"v":1,"type":"assign","id":"x","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unknownWorker),
        ([Data(#"{"v":1,"type":"register","id":"x","seq":1,"ts":0}"#.utf8), Data(repeating: 32, count: (1 << 20) + 1)], .tooLarge),
    ]

    @Test(arguments: badFrames)
    func badFramesGetAnErrorReplyAndAreCounted(frames: [Data], code: ProtocolError.Code) throws {
        let harness = try CoreHarness()
        let sent = try harness.raw(0, [Data("rogue".utf8)] + frames)
        let error = try #require(try sent.errors().first)
        #expect(error.code == code)
        #expect(sent.first?.to == "rogue")
        #expect(harness.core.counters["rejected.\(code)"] == 1)
    }

    @Test func aWorkerSpeakingForAnotherIdIsRefused() throws {
        let harness = try CoreHarness()
        let header = Header(type: .register, id: "x", seq: 1)
        let frames = harness.codec.frames(header, RegisterBody(worker: "victim", host: "h", slots: 1, labels: [], holding: []))
        let error = try #require(try harness.raw(0, [Data("rogue".utf8)] + frames).errors().first)
        #expect(error.code == .badField)
        #expect(error.message.contains("routing id"))
        #expect(harness.core.workers.count == 0)
    }

    @Test func controlSocketAnswersREQClientsWithTheirEnvelope() throws {
        let harness = try CoreHarness()
        let request = harness.codec.frames(Header(type: .status, id: "req-1", seq: 1), EmptyBody())
        harness.core.receive(InboundMessage(socket: 2, frames: [Data("op".utf8), Data()] + request), now: 0)
        let reply = try #require(try harness.core.commit().first { $0.socket == 2 })
        #expect(reply.frames.count == 4)
        #expect(reply.frames[1].isEmpty)
        #expect(try harness.codec.header(from: reply.frames[2]).type == .status)
    }

    @Test func controlSocketRefusesWorkMessagesAndInvalidPlans() throws {
        let harness = try CoreHarness()
        #expect(try harness.control(.heartbeat, HeartbeatBody()).errors().first?.code == .unknownType)
        let cyclic = plan([Todo(id: "a", command: "true", dependsOn: ["b"]), Todo(id: "b", command: "true", dependsOn: ["a"])])
        let error = try #require(try harness.submit(cyclic).errors().first)
        #expect(error.code == .rejected)
        #expect(error.ref?.hasPrefix("op-") == true, "the refusal names the request it answers")
        #expect(error.message.contains("cycle"))
        #expect(harness.core.todos.plans.isEmpty)
    }
}

@Suite struct InboxTests {
    func asking(kind: AskKind = .approval, inboxTimeout: Duration? = .seconds(1800)) throws -> (CoreHarness, AssignBody) {
        let harness = try CoreHarness(inboxTimeout: inboxTimeout)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "do it", risk: .high)])).assigns()[0]
        let sent = try harness.fromWorker(
            "w1",
            .ask,
            AskBody(leaseId: assign.lease.leaseId, epoch: 1, item: "q1", kind: kind, text: "rm -rf build")
        )
        #expect(sent.contains { $0.header?.type == .ack }, "the ask is acknowledged, so the worker stops resending it")
        #expect(sent.eventTypes.contains("inbox.added"))
        return (harness, assign)
    }

    @Test func anAnswerGoesToTheSessionThatAsked() throws {
        let (harness, assign) = try asking()
        let listing = try #require(try harness.control(.inbox, EmptyBody()).first { $0.header?.type == .inbox }).decode(InboxBody.self)
        #expect(listing.items.map(\.id) == ["w1-q1"])
        #expect(listing.items.first?.text == "rm -rf build")
        let sent = try harness.control(.answer, AnswerBody(item: "w1-q1", decision: .approve))
        let control = try #require(sent.first { $0.header?.type == .control && $0.to == "w1" }).decode(ControlBody.self)
        #expect(
            control
                == ControlBody(
                    action: .answer,
                    leaseId: assign.lease.leaseId,
                    reason: "an operator answered",
                    item: "q1",
                    decision: .approve
                )
        )
        #expect(sent.eventTypes.contains("inbox.answered"))
        #expect(harness.core.inbox.isEmpty)
        let again = try harness.control(.answer, AnswerBody(item: "w1-q1", decision: .approve))
        #expect(try again.errors().first?.message.contains("no inbox item w1-q1") == true)
    }

    @Test(arguments: [(AskKind.approval, Decision.deny), (.question, .reply)])
    func anUnansweredItemTimesOutToThePolicyDefault(kind: AskKind, decision: Decision) throws {
        let (harness, assign) = try asking(kind: kind, inboxTimeout: .seconds(1))
        #expect(try harness.tick(advancing: 900).allSatisfy { $0.header?.type != .control }, "not before its time")
        #expect(harness.core.inbox.count == 1)
        try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: [assign.lease.leaseId]))
        let sent = try harness.tick(advancing: 200)
        let control = try #require(sent.first { $0.header?.type == .control && $0.to == "w1" }).decode(ControlBody.self)
        #expect(control.action == .answer)
        #expect(control.item == "q1")
        #expect(control.decision == decision)
        #expect(decision == .deny ? control.text == nil : control.text?.contains("No operator answered in time") == true)
        #expect(sent.eventTypes.contains("inbox.expired"))
        #expect(harness.core.inbox.isEmpty)
        #expect(try harness.control(.answer, AnswerBody(item: "w1-q1", decision: .approve)).errors().first?.code == .rejected)
    }

    @Test func withoutATimeoutAnItemWaits() throws {
        let (harness, assign) = try asking(inboxTimeout: nil)
        for _ in 0..<10 {
            try harness.fromWorker("w1", .heartbeat, HeartbeatBody(leases: [assign.lease.leaseId]))
            try harness.tick(advancing: 1000)
        }
        #expect(harness.core.inbox.count == 1)
    }

    @Test func itemsOfALeaseThatEndsAreDropped() throws {
        let (harness, _) = try asking()
        let sent = try harness.fromWorker("w1", .bye, ByeBody(reason: "leaving"))
        #expect(sent.eventTypes.contains("inbox.dropped"))
        #expect(harness.core.inbox.isEmpty)
    }

    @Test func aResentAskIsOneItem() throws {
        let (harness, assign) = try asking()
        try harness.fromWorker(
            "w1",
            .ask,
            AskBody(leaseId: assign.lease.leaseId, epoch: 1, item: "q1", kind: .approval, text: "rm -rf build")
        )
        #expect(harness.core.inbox.count == 1)
    }
}

@Suite struct SupervisorPolicyTests {
    /// The rules alone: the advisor, asked when they run out, has its own tests (`AdvisorTests`).
    static let rulesOnly = AdvisorPolicy(enabled: false)

    /// A `recover` request, and the `recovery` decision that answers it.
    func recovery(_ harness: CoreHarness, _ assign: AssignBody, item: String, detection: Detection = .stoppedEarly) throws -> RecoveryBody {
        let body = RecoverBody(
            leaseId: assign.lease.leaseId,
            epoch: assign.lease.epoch,
            item: item,
            detection: detection,
            proposal: "repair",
            evidence: "check failed"
        )
        let sent = try harness.fromWorker("w1", .recover, body)
        let reply = try #require(sent.first { $0.header?.type == .recovery }).decode(RecoveryBody.self)
        #expect(reply.item == item && reply.detection == detection && reply.leaseId == assign.lease.leaseId)
        return reply
    }

    @Test func recoveriesAreGrantedUpToTheLimitThenEscalated() throws {
        let harness = try CoreHarness(advisor: Self.rulesOnly)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        for index in 1...3 {
            let granted = try recovery(harness, assign, item: "r\(index)")
            #expect(granted.decision == .recover && granted.count == index && granted.limit == 3)
        }
        let refused = try recovery(harness, assign, item: "r4")
        #expect(refused.decision == .escalate)
        #expect(refused.reason?.contains("the limit of 3 stopped_early recoveries") == true)
        // Other kinds of trouble have their own limits.
        #expect(try recovery(harness, assign, item: "r5", detection: .hung).decision == .recover)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.recoveries == ["stopped_early": 3, "hung": 1])
    }

    @Test func aResentRequestGetsTheSameDecisionCountedOnce() throws {
        let harness = try CoreHarness(advisor: Self.rulesOnly)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        let first = try recovery(harness, assign, item: "r1")
        let again = try recovery(harness, assign, item: "r1")
        #expect(again.decision == first.decision && again.count == first.count, "the same decision, answering the resent request")
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.recoveries["stopped_early"] == 1)
    }

    @Test func aRestartedWorkerReusingItemNamesGetsFreshDecisions() throws {
        let harness = try CoreHarness(advisor: Self.rulesOnly)
        try harness.register("w1")
        let first = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        #expect(try recovery(harness, first, item: "r1").count == 1)
        // The worker process restarts: it says bye, comes back, and numbers its requests from r1 again.
        try harness.fromWorker("w1", .bye, ByeBody(reason: "restarting"))
        let second = try harness.register("w1").assigns()[0]
        #expect(second.lease.epoch == 2)
        let again = try recovery(harness, second, item: "r1")
        #expect(again.count == 2, "a new decision, counted, not the first run's")
    }

    @Test func aRecoveryUnderAnOldLeaseIsRefused() throws {
        let harness = try CoreHarness(advisor: Self.rulesOnly)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        let sent = try harness.fromWorker(
            "w1",
            .recover,
            RecoverBody(leaseId: assign.lease.leaseId, epoch: 7, item: "r1", detection: .hung, proposal: "p", evidence: "e")
        )
        #expect(try sent.errors().first?.code == .staleLease)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.recoveries == [:])
    }

    @Test func theOldFormOfARecoveryIsStillDecidedAndAnsweredTheOldWay() throws {
        let harness = try CoreHarness(advisor: Self.rulesOnly)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        let body = AskBody(
            leaseId: assign.lease.leaseId,
            epoch: assign.lease.epoch,
            item: "q1",
            kind: .recovery,
            text: "check failed",
            detection: .stoppedEarly,
            proposal: "repair"
        )
        let sent = try harness.fromWorker("w1", .ask, body)
        #expect(sent.contains { $0.header?.type == .ack })
        let answer = try #require(sent.first { $0.header?.type == .control }).decode(ControlBody.self)
        #expect(answer.action == .answer && answer.item == "q1" && answer.decision == .approve)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.recoveries["stopped_early"] == 1)
        #expect(harness.core.inbox.isEmpty, "a recovery is not a question for a human")
    }

    @Test func limitsHoldAcrossWorkersAndRestarts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path, advisor: Self.rulesOnly)
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", prompt: "x")])).assigns()[0]
        for index in 1...3 { _ = try recovery(harness, assign, item: "r\(index)") }
        try harness.restart()
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.recoveries == ["stopped_early": 3])
        try harness.register("w1", holding: [assign.lease])
        #expect(try recovery(harness, assign, item: "r9").decision == .escalate)
    }
}

@Suite struct OperatorTests {
    @Test func retryTakesUpAFailedTodoAndWhatWasSkippedBecauseOfIt() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let sent = try harness.submit(plan([Todo(id: "a", command: "false"), Todo(id: "b", command: "true", dependsOn: ["a"])]))
        try harness.report("w1", try sent.assigns()[0], .failed)
        #expect(harness.state("p", "b") == "skipped")
        #expect(harness.core.todos.plans["p"]?.state == .failed)

        let retried = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .retry))
        let reply = try #require(retried.first { $0.header?.type == .todo }).decode(TodoReply.self)
        #expect(reply.todo.state == .assigned)
        #expect(reply.todo.attempts == 0)
        #expect(harness.state("p", "b") == "pending")
        #expect(harness.core.todos.plans["p"]?.state == .running)
        #expect(retried.eventTypes.contains("plan.resumed"))
        let again = try retried.assigns(to: "w1")
        #expect(again.first?.lease.epoch == 2)
        let next = try harness.report("w1", again[0])
        try harness.report("w1", try next.assigns()[0])
        #expect(harness.core.todos.plans["p"]?.state == .done)
    }

    @Test func onlyFinishedUnsuccessfulTodosCanBeRetried() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(plan([Todo(id: "a", command: "true")]))
        let refused = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .retry))
        #expect(try refused.errors().first?.message.contains("only a failed, escalated, cancelled or skipped TODO") == true)
        let unknown = try harness.control(.todo, TodoRequest(plan: "p", todo: "zz", action: .show))
        #expect(try unknown.errors().first?.message.contains("no TODO p/zz") == true)
    }

    @Test func cancelStopsARunningTodoOnItsWorkerAndAWaitingOneAtOnce() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try harness.submit(plan([Todo(id: "a", command: "sleep 9"), Todo(id: "b", command: "true", dependsOn: ["a"])]))
            .assigns()[0]
        let running = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .cancel))
        let control = try #require(running.first { $0.header?.type == .control }).decode(ControlBody.self)
        #expect(control.action == .cancel)
        #expect(control.leaseId == assign.lease.leaseId)
        let waiting = try harness.control(.todo, TodoRequest(plan: "p", todo: "b", action: .cancel))
        #expect(try waiting.first { $0.header?.type == .todo }?.decode(TodoReply.self).todo.state == .cancelled)
    }
}

@Suite struct PlanOperatorTests {
    @Test func aPausedPlanStartsNothingNewUntilResumedEvenAcrossARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-pause-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path)
        try harness.control(.submit, SubmitBody(plan: plan([Todo(id: "a", command: "true"), Todo(id: "b", command: "true")])))
        let paused = try harness.control(.plan, PlanRequest(plan: "p", action: .pause))
        #expect(try paused.first { $0.header?.type == .plan }?.decode(StatusBody.PlanStatus.self).paused == true)
        #expect(try harness.register("w1", slots: 2).assigns().isEmpty)
        try harness.restart()
        #expect(harness.core.todos.plans["p"]?.paused == true)
        #expect(try harness.register("w1", slots: 2).assigns().isEmpty)
        let resumed = try harness.control(.plan, PlanRequest(plan: "p", action: .resume))
        #expect(try resumed.assigns(to: "w1").count == 2)
    }

    @Test func cancellingAPlanCancelsWhatWaitsAndStopsWhatRuns() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(plan([Todo(id: "a", command: "sleep 9"), Todo(id: "b", command: "true", dependsOn: ["a"])]))
        let sent = try harness.control(.plan, PlanRequest(plan: "p", action: .cancel))
        #expect(sent.contains { $0.header?.type == .control && $0.to == "w1" })
        #expect(harness.state("p", "b") == "cancelled")
        #expect(try harness.control(.plan, PlanRequest(plan: "zz", action: .pause)).errors().first?.message.contains("no plan zz") == true)
    }

    @Test func aTodoIsToldWhereTheWorkOfItsDependenciesIs() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        var submitted = plan([Todo(id: "a", title: "Write a", command: "true"), Todo(id: "c", command: "true", dependsOn: ["a"])])
        submitted.repository = "/srv/app.git"
        let first = try #require(try harness.submit(submitted).assigns().first)
        #expect(first.task.dependencies == nil)
        let next = try #require(try harness.report("w1", first).assigns().first { $0.lease.leaseId.hasPrefix("p/c@") })
        #expect(next.task.dependencies == [DependencyWork(todo: "a", title: "Write a", branch: "drover/p/a", summary: "succeeded")])
    }
}
