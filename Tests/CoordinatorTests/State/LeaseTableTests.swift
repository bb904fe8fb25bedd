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
