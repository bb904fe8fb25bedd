import DroverProtocol
import Testing

@testable import Coordinator

/// The inbox's bookkeeping and the supervisor policy's one rule.
@Suite struct InboxAndPolicyTests {
    func waiting(_ id: String, lease: String = "p/a@1", askedAt: Int64 = 0, deadline: Int64? = nil) -> Inbox.Waiting {
        Inbox.Waiting(
            item: InboxItem(id: id, plan: "p", todo: "a", worker: "w1", kind: .question, text: "?", askedAt: askedAt),
            leaseID: lease,
            workerItem: "q",
            deadline: deadline
        )
    }

    @Test func anItemIsAddedOnceAndTakenOnce() {
        var inbox = Inbox()
        let result8 = inbox.add(waiting("w1-q1"))
        #expect(result8)
        let result9 = inbox.add(waiting("w1-q1"))
        #expect(!result9, "a resent question")
        let result10 = inbox.take("w1-q1")
        #expect(result10 != nil)
        let result11 = inbox.take("w1-q1")
        #expect(result11 == nil)
    }

    @Test func itemsExpireAtTheirDeadlineAndLeaveWithTheirLease() {
        var inbox = Inbox()
        _ = inbox.add(waiting("a", deadline: 100))
        _ = inbox.add(waiting("b", lease: "p/b@1", askedAt: 1))
        _ = inbox.add(waiting("c", askedAt: 2))
        let result12 = inbox.takeExpired(now: 99)
        #expect(result12.isEmpty)
        let result13 = inbox.takeExpired(now: 100)
        #expect(result13.map(\.item.id) == ["a"])
        let result14 = inbox.takeItems(of: "p/a@1")
        #expect(result14.map(\.item.id) == ["c"])
        #expect(inbox.items.map(\.id) == ["b"])
    }

    @Test func recoveriesAreGrantedUpToTheLimitOfTheirDetection() {
        let policy = RecoveryPolicy(limits: [.hung: 2], defaultLimit: 1)
        #expect(policy.decide(.hung, used: 0) == .init(decision: .recover, count: 1, limit: 2, reason: nil))
        #expect(policy.decide(.hung, used: 1).decision == .recover)
        let refused = policy.decide(.hung, used: 2)
        #expect(refused.decision == .escalate && refused.count == 2)
        #expect(refused.reason == "the limit of 2 hung recoveries for this TODO is reached")
        #expect(policy.decide(.looping, used: 1).decision == .escalate, "unnamed detections get the default limit")
    }
}
