import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// Sessions waiting on the coordinator: questions for a human (`ask`, answered by `control answer`) and recovery
/// requests (`recover`, answered by `recovery`).
@Suite struct WorkerQuestionTests {
    static let question = Question(kind: .approval, text: "may I run rm -rf build?")
    static let request = RecoveryRequest(detection: .hung, evidence: "no output for 10 minutes", proposal: "interrupt and retry")

    @Test func aQuestionIsResentUntilAckedAndResumedByTheAnswer() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let asked = try harness.input(.ask(leaseID: "p/a@1", item: "q1", Self.question))
        #expect(
            try asked.bodies(.ask, as: AskBody.self)
                == [AskBody(leaseId: "p/a@1", epoch: 1, item: "q1", kind: .approval, text: "may I run rm -rf build?")]
        )
        #expect(asked.actions == [], "the session waits")
        let id = try #require(asked.ids(.ask).first)
        #expect(try harness.tick(advancing: 1000).ids(.ask) == [id])
        try harness.ack(id)
        #expect(try harness.tick(advancing: 1000).ids(.ask) == [], "acknowledged: the coordinator has it in its inbox")

        let answered = try harness.control(.answer, "p/a@1", item: "q1", decision: .approve)
        #expect(answered.actions == [.answer(item: "q1", HumanAnswer(decision: .approve))])
        #expect(try harness.control(.answer, "p/a@1", item: "q1", decision: .deny).all == [], "answered once")
    }

    /// A one-slot worker whose session waits for a recovery decision takes an advisor's task beyond its slot (the
    /// coordinator lends it for that), and nothing else.
    @Test func anAdvisorsTaskTakesTheSlotOfASessionWaitingForADecision() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        var advice = WorkerHarness.assign("advice-1")
        advice.task.output = OutputSpec(step: .advise)
        #expect(try harness.fromCoordinator(.assign, advice).bodies(.reject, as: LeaseAnswerBody.self).count == 1, "nobody waits yet")
        try harness.input(.recover(leaseID: "p/a@1", item: "r1-aaaaaa", Self.request))
        #expect(try harness.assign("b").bodies(.reject, as: LeaseAnswerBody.self).map(\.reason) == ["no free slot"])
        let lent = try harness.fromCoordinator(.assign, advice)
        #expect(try lent.bodies(.accept, as: LeaseAnswerBody.self) == [LeaseAnswerBody(leaseId: "p/advice-1@1", epoch: 1)])
        var second = WorkerHarness.assign("advice-2")
        second.task.output = OutputSpec(step: .advise)
        let refused = try harness.fromCoordinator(.assign, second).bodies(.reject, as: LeaseAnswerBody.self)
        #expect(refused.count == 1, "one per waiting session")
    }

    @Test func anAnswerOrDecisionUnderAnotherLeaseIsNotTaken() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        try harness.input(.ask(leaseID: "p/a@1", item: "q1-aaaaaa", Self.question))
        try harness.input(.recover(leaseID: "p/a@1", item: "r1-aaaaaa", Self.request))
        #expect(try harness.control(.answer, "p/b@1", item: "q1-aaaaaa", decision: .approve).actions == [], "another lease's answer")
        let foreign = RecoveryBody(
            ref: "x",
            leaseId: "p/b@1",
            item: "r1-aaaaaa",
            detection: .hung,
            decision: .escalate,
            reason: "old",
            count: 1,
            limit: 2
        )
        #expect(try harness.fromCoordinator(.recovery, foreign).actions == [], "another lease's decision")
        #expect(
            try harness.control(.answer, "p/a@1", item: "q1-aaaaaa", decision: .approve).actions == [
                .answer(item: "q1-aaaaaa", HumanAnswer(decision: .approve))
            ]
        )
    }

    @Test func aRestartedCoordinatorIsAskedAgain() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let id = try #require(try harness.input(.ask(leaseID: "p/a@1", item: "q1", Self.question)).ids(.ask).first)
        try harness.ack(id)
        harness.instance = "c2"
        try harness.heartbeat()
        let welcomed = try harness.welcome()
        #expect(try welcomed.bodies(.ask, as: AskBody.self).map(\.item) == ["q1"], "its inbox starts empty")
        #expect(
            try harness.control(.answer, "p/a@1", item: "q1", decision: .reply).actions == [
                .answer(item: "q1", HumanAnswer(decision: .reply))
            ]
        )
    }

    @Test func aRecoveryRequestIsResentUntilItsDecisionComes() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        let asked = try harness.input(.recover(leaseID: "p/a@1", item: "r1", Self.request))
        let body = try #require(try asked.bodies(.recover, as: RecoverBody.self).first)
        #expect(
            body
                == RecoverBody(
                    leaseId: "p/a@1",
                    epoch: 1,
                    item: "r1",
                    detection: .hung,
                    proposal: "interrupt and retry",
                    evidence: "no output for 10 minutes"
                )
        )
        let id = try #require(asked.ids(.recover).first)
        #expect(try harness.tick(advancing: 1000).ids(.recover) == [id])
        #expect(try harness.tick(advancing: 1000).ids(.recover) == [id])

        let decided = try harness.fromCoordinator(
            .recovery,
            RecoveryBody(ref: id, leaseId: "p/a@1", item: "r1", detection: .hung, decision: .recover, reason: nil, count: 1, limit: 3)
        )
        #expect(decided.actions == [.decide(item: "r1", RecoveryVerdict(decision: .recover, reason: nil))])
        #expect(try harness.tick(advancing: 1000).ids(.recover) == [], "the decision is its acknowledgement")
    }

    @Test func questionsOfALeaseThatEndsAreDeniedAndRecoveriesEscalated() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        try harness.input(.ask(leaseID: "p/a@1", item: "q1", Self.question))
        try harness.input(.recover(leaseID: "p/a@1", item: "r1", Self.request))
        let cancelled = try harness.control(.cancel, "p/a@1")
        #expect(
            cancelled.actions == [
                .answer(item: "q1", HumanAnswer(decision: .deny, text: "the lease has ended")),
                .decide(item: "r1", RecoveryVerdict(decision: .escalate, reason: "the lease has ended")),
                .cancel(leaseID: "p/a@1"),
            ]
        )
        // An answer arriving after that finds nobody waiting.
        #expect(try harness.control(.answer, "p/a@1", item: "q1", decision: .approve).all == [])
    }

    @Test func aStaleLeaseEndsItsWaitingSessionsAndDropsTheirRequests() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        try harness.input(.recover(leaseID: "p/a@1", item: "r1", Self.request))
        let stale = try harness.error(.staleLease, leaseID: "p/a@1")
        #expect(
            stale.actions == [
                .decide(item: "r1", RecoveryVerdict(decision: .escalate, reason: "the lease has ended")),
                .abort(leaseID: "p/a@1"),
            ]
        )
        #expect(try harness.tick(advancing: 1000).ids(.recover) == [])
    }

    @Test func aSessionFinishingWhileItWaitsIsAnsweredToo() throws {
        let harness = WorkerHarness()
        try harness.registered()
        try harness.assign("a")
        try harness.input(.ask(leaseID: "p/a@1", item: "q1", Self.question))
        let finished = try harness.finish("p/a@1")
        #expect(finished.actions == [.answer(item: "q1", HumanAnswer(decision: .deny, text: "the lease has ended"))])
        #expect(finished.types == [.report])
    }

    @Test func aQuestionFromALeaseNotRunningIsAnsweredAtOnce() throws {
        let harness = WorkerHarness()
        try harness.registered()
        let asked = try harness.input(.ask(leaseID: "p/x@1", item: "q1", Self.question))
        #expect(asked.all == [.answer(item: "q1", HumanAnswer(decision: .deny, text: "the lease has ended"))])
        let recovery = try harness.input(.recover(leaseID: "p/x@1", item: "r1", Self.request))
        #expect(recovery.all == [.decide(item: "r1", RecoveryVerdict(decision: .escalate, reason: "the lease has ended"))])
    }
}
