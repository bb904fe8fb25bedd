import DroverProtocol
import Synchronization
import Testing

@testable import Worker

/// The one way a session asks the coordinator's policy about a recovery, and what it reports.
@Suite struct PolicyConsultationTests {
    static let request = RecoveryRequest(detection: .hung, evidence: "no agent event for 2.0 seconds", proposal: "resume the thread")

    func consult(answering verdict: RecoveryVerdict) async -> (RecoveryVerdict, [AgentEvent], [RecoveryRequest]) {
        let seen = Mutex<(events: [AgentEvent], asked: [RecoveryRequest])>(([], []))
        let context = AgentContext(
            events: { events in seen.withLock { $0.events += events } },
            ask: { _ in HumanAnswer(decision: .deny) },
            recover: { request in
                seen.withLock { $0.asked.append(request) }
                return verdict
            }
        )
        let answer = await context.consultPolicy(Self.request)
        return seen.withLock { (answer, $0.events, $0.asked) }
    }

    @Test func aRecoveryThePolicyAllowsIsReportedWithItsProposal() async {
        let (verdict, events, asked) = await consult(answering: RecoveryVerdict(decision: .recover, reason: nil))
        #expect(verdict.decision == .recover)
        #expect(asked == [Self.request])
        #expect(
            events == [
                AgentEvent(kind: .detected, text: "hung: no agent event for 2.0 seconds", detection: .hung),
                AgentEvent(kind: .recovery, text: "resume the thread"),
            ]
        )
    }

    @Test func aRefusalIsReportedAsAnEscalationWithItsReason() async {
        let (verdict, events, _) = await consult(answering: RecoveryVerdict(decision: .escalate, reason: "hung 3 times"))
        #expect(verdict.decision == .escalate)
        #expect(events.last == AgentEvent(kind: .recovery, text: "escalate: hung 3 times"))
        let (_, unexplained, _) = await consult(answering: RecoveryVerdict(decision: .escalate, reason: nil))
        #expect(unexplained.last == AgentEvent(kind: .recovery, text: "escalate: the coordinator's policy says stop"))
    }
}
