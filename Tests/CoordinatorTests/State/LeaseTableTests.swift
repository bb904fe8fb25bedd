import DroverProtocol
import Testing

@testable import Coordinator

/// Fencing, orphaned leases after a restart, and report deduplication, without a core.
@Suite struct LeaseTableTests {
    let key = TodoKey(plan: "p", todo: "a")

    func assigned(to worker: String = "w1") -> (TodoTable, LeaseTable, String) {
        var todos = TodoTable()
        _ = todos.add(Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x")]), submitJSON: "{}", submittedAt: 1)
        let leaseID = todos.assign(key, to: worker, at: 1)?.todo.leaseID ?? ""
        var leases = LeaseTable()
        leases.grant(leaseID, for: key)
        return (todos, leases, leaseID)
    }

    @Test func leaseIDsNameTheTodoAndTheEpoch() {
        #expect(LeaseTable.id(for: key, epoch: 7) == "p/a@7")
    }

    @Test func onlyTheCurrentHolderPassesTheFence() {
        let (todos, leases, leaseID) = assigned()
        #expect(leases.fence(leaseID, epoch: 1, from: "w1", in: todos) == key)
        #expect(leases.fence(leaseID, epoch: 1, from: "w2", in: todos) == nil, "another worker")
        #expect(leases.fence(leaseID, epoch: 2, from: "w1", in: todos) == nil, "another epoch")
        #expect(leases.fence("p/a@0", epoch: 0, from: "w1", in: todos) == nil, "an old lease")
    }

    @Test func anEndedLeaseIsStale() {
        var (todos, leases, leaseID) = assigned()
        _ = todos.release(key)
        leases.end(leaseID)
        #expect(leases.fence(leaseID, epoch: 1, from: "w1", in: todos) == nil)
    }

    @Test func orphansExpireAtTheirDeadlineUnlessClaimed() {
        var leases = LeaseTable()
        leases.adopt("p/a@1", for: key, until: 100)
        leases.adopt("p/b@1", for: TodoKey(plan: "p", todo: "b"), until: 100)
        leases.claim("p/b@1")
        let result1 = leases.expireOrphans(now: 100)
        #expect(result1.isEmpty, "not before the deadline")
        let result2 = leases.expireOrphans(now: 101)
        #expect(result2.map(\.leaseID) == ["p/a@1"])
        let result3 = leases.expireOrphans(now: 500)
        #expect(result3.isEmpty, "expired once")
    }

    @Test func aProcessedReportIsKnownAndStoredOnce() {
        var leases = LeaseTable(processedReports: [LeaseTable.reportKey("p/a@1", 3)])
        #expect(leases.isProcessed("p/a@1", seq: 3), "known from the state file")
        #expect(!leases.isProcessed("p/a@1", seq: 4))
        leases.markProcessed("p/a@1", seq: 4)
        #expect(leases.isProcessed("p/a@1", seq: 4))
        var changes = Store.Changes()
        leases.takeChanges(into: &changes)
        #expect(changes.reports.map(\.seq) == [4])
        #expect(!leases.hasChanges)
    }
}

/// The workers' bookkeeping: who can take work, and who is silent.
@Suite struct WorkerRegistryTests {
    func register(_ registry: inout WorkerRegistry, _ id: String, slots: Int = 2, labels: [String] = [], now: Int64 = 0) {
        _ = registry.register(RegisterBody(worker: id, host: "h", slots: slots, labels: labels, holding: []), holding: [], now: now)
    }

    @Test func theWorkerWithTheMostFreeSlotsAndTheLabelsGetsTheTodo() {
        var registry = WorkerRegistry()
        register(&registry, "small", slots: 1)
        register(&registry, "big", slots: 4)
        register(&registry, "gpu", slots: 2, labels: ["gpu"])
        var todos = TodoTable()
        _ = todos.add(
            Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x"), Todo(id: "g", command: "x", labels: ["gpu"])]),
            submitJSON: "{}",
            submittedAt: 1
        )
        let free = registry.free(now: 0)
        #expect(free == ["small": 1, "big": 4, "gpu": 2])
        #expect(registry.best(for: todos[TodoKey(plan: "p", todo: "a")]!, among: free, now: 0) == "big")
        #expect(registry.best(for: todos[TodoKey(plan: "p", todo: "g")]!, among: free, now: 0) == "gpu")
    }

    @Test func aRestingOrDrainingWorkerIsNotOfferedWork() {
        var registry = WorkerRegistry()
        register(&registry, "w1")
        register(&registry, "w2")
        registry.rest("w1", until: 50, avoiding: TodoKey(plan: "p", todo: "a"), until: 500)
        let result4 = registry.setDraining("w2", true)
        #expect(result4)
        let result5 = registry.setDraining("w2", true)
        #expect(!result5, "no change")
        #expect(registry.free(now: 10).isEmpty)
        #expect(registry.free(now: 60) == ["w1": 2])
    }

    @Test func aWorkerThatRefusedATodoIsNotAskedAgainSoon() {
        var registry = WorkerRegistry()
        register(&registry, "w1")
        var todos = TodoTable()
        _ = todos.add(Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x")]), submitJSON: "{}", submittedAt: 1)
        let todo = todos[TodoKey(plan: "p", todo: "a")]!
        registry.rest("w1", until: 0, avoiding: todo.key, until: 500)
        #expect(registry.best(for: todo, among: ["w1": 2], now: 100) == nil)
        #expect(registry.best(for: todo, among: ["w1": 2], now: 501) == "w1")
    }

    @Test func silenceIsMeasuredFromTheLastMessage() {
        var registry = WorkerRegistry()
        register(&registry, "w1", now: 0)
        register(&registry, "w2", now: 0)
        let result6 = registry.heard(from: "w2", now: 1500)
        #expect(result6)
        let result7 = registry.heard(from: "nobody", now: 1500)
        #expect(!result7)
        #expect(registry.silent(now: 2001, ttl: 2000).map(\.id) == ["w1"])
    }

    @Test func leasesTakeSlots() {
        var registry = WorkerRegistry()
        register(&registry, "w1", slots: 2)
        registry.hold("p/a@1", by: "w1")
        #expect(registry.free(now: 0) == ["w1": 1])
        #expect(registry.slots.busy == 1)
        registry.release("p/a@1", from: "w1")
        #expect(registry.free(now: 0) == ["w1": 2])
    }
}

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

/// Recovery decisions live as long as their lease.
@Suite struct RecoveryDecisionMemoryTests {
    @Test func aDecisionIsRememberedUnderItsLeaseAndForgottenWithIt() {
        var leases = LeaseTable()
        leases.grant("p/a@1", for: TodoKey(plan: "p", todo: "a"))
        let verdict = RecoveryPolicy().decide(.hung, used: 0)
        leases.remember(verdict, for: "r1", under: "p/a@1")
        #expect(leases.recoveryDecision("r1", under: "p/a@1") == verdict)
        #expect(leases.recoveryDecision("r1", under: "p/a@2") == nil, "another run of the TODO reuses item names")
        leases.end("p/a@1")
        #expect(leases.recoveryDecision("r1", under: "p/a@1") == nil)
        leases.remember(verdict, for: "r1", under: "p/a@1")
        #expect(leases.recoveryDecision("r1", under: "p/a@1") == nil, "nothing is kept for an ended lease")
    }
}
