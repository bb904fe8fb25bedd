import DroverProtocol
import Testing

@testable import Coordinator

/// The TODO state machine, driven directly: no core, no store, no sockets.
@Suite struct TodoTableTests {
    func table(_ todos: [Todo], plan id: String = "p") -> (TodoTable, [TodoKey]) {
        var table = TodoTable()
        let readied = table.add(Plan(id: id, title: id, todos: todos), submitJSON: "{}", submittedAt: 1)
        return (table, readied)
    }

    func key(_ todo: String, plan: String = "p") -> TodoKey { TodoKey(plan: plan, todo: todo) }

    @Test func aPlanStartsWithWhatHasNothingToWaitForReady() {
        let (table, readied) = table([Todo(id: "a", command: "x"), Todo(id: "b", command: "x", dependsOn: ["a"])])
        #expect(readied == [key("a")])
        #expect(table[key("a")]?.state == .ready)
        #expect(table[key("b")]?.state == .pending)
        #expect(table.plans["p"]?.open == 2)
    }

    @Test func assignTakesOnlyAReadyTodoAndGrowsTheEpoch() throws {
        var (table, _) = table([Todo(id: "a", command: "x"), Todo(id: "b", command: "x", dependsOn: ["a"])])
        let assigned = table.assign(key("a"), to: "w1", at: 10)
        let first = try #require(assigned).todo
        #expect(first.state == .assigned && first.epoch == 1 && first.worker == "w1" && first.leaseID == "p/a@1")
        let result1 = table.assign(key("a"), to: "w2", at: 11)
        #expect(result1 == nil, "already assigned")
        let result2 = table.assign(key("b"), to: "w2", at: 11)
        #expect(result2 == nil, "still pending")
        _ = table.release(key("a"))
        let result3 = table.makeReady(key("a"), front: true)
        #expect(result3)
        let result4 = table.assign(key("a"), to: "w2", at: 12)
        #expect(try #require(result4).todo.epoch == 2)
    }

    @Test func startMovesOnlyAnAssignedTodo() {
        var (table, _) = table([Todo(id: "a", command: "x")])
        let result5 = table.start(key("a"), at: 5)
        #expect(result5 == nil, "ready, not assigned")
        _ = table.assign(key("a"), to: "w1", at: 1)
        let result6 = table.start(key("a"), at: 5)
        #expect(result6?.state == .running)
        #expect(table[key("a")]?.facts.startedAt == 5)
        let result7 = table.start(key("a"), at: 6)
        #expect(result7 == nil, "already running")
    }

    @Test func doneReleasesDependentsWhoseLastDependencyItWas() throws {
        var (table, _) = table([
            Todo(id: "a", command: "x"), Todo(id: "b", command: "x"),
            Todo(id: "c", command: "x", dependsOn: ["a", "b"]),
        ])
        let result8 = table.end(key("a"), as: .done, detail: "ok", at: 1)
        #expect(try #require(result8).readied.isEmpty, "c still waits for b")
        let result9 = table.end(key("b"), as: .done, detail: "ok", at: 2)
        #expect(try #require(result9).readied == [key("c")])
        #expect(table[key("c")]?.state == .ready)
    }

    @Test func failureSkipsEverythingDownstreamAndEndsThePlan() throws {
        var (table, _) = table([
            Todo(id: "a", command: "x"), Todo(id: "b", command: "x", dependsOn: ["a"]),
            Todo(id: "c", command: "x", dependsOn: ["b"]),
        ])
        let result = table.end(key("a"), as: .failed, detail: "exit 1", at: 1)
        let ended = try #require(result)
        #expect(Set(ended.skipped) == [key("b"), key("c")])
        #expect(table[key("c")]?.detail == "not run: a did not succeed")
        #expect(table.plans["p"]?.open == 0)
        let result10 = table.finishPlanIfDone("p", at: 9)
        #expect(result10?.state == .failed)
        let result11 = table.finishPlanIfDone("p", at: 10)
        #expect(result11 == nil, "it ends once")
    }

    @Test func anEndedTodoDoesNotEndAgain() {
        var (table, _) = table([Todo(id: "a", command: "x")])
        let result12 = table.end(key("a"), as: .done, detail: "ok", at: 1)
        #expect(result12 != nil)
        let result13 = table.end(key("a"), as: .failed, detail: "late report", at: 2)
        #expect(result13 == nil)
        #expect(table[key("a")]?.state == .done)
        let result14 = table.makeReady(key("a"), front: true)
        #expect(!result14, "a terminal TODO is never ready again")
    }

    @Test func failedAttemptsCountAgainstMaxAttempts() throws {
        var (table, _) = table([Todo(id: "a", command: "x", maxAttempts: 2)])
        let result15 = table.countFailedAttempt(key("a"), detail: "1")
        #expect(try #require(result15) == (1, true))
        let result16 = table.countFailedAttempt(key("a"), detail: "2")
        #expect(try #require(result16) == (2, false))
    }

    @Test func reviveTakesUpTheTodoAndWhatWasSkippedBecauseOfIt() throws {
        var (table, _) = table([Todo(id: "a", command: "x"), Todo(id: "b", command: "x", dependsOn: ["a"])])
        _ = table.end(key("a"), as: .failed, detail: "exit 1", at: 1)
        _ = table.finishPlanIfDone("p", at: 2)
        table.grantRecovery(key("a"), .hung, count: 1)
        let result = table.revive(key("a"), detail: "retried")
        let (revived, resumed) = try #require(result)
        #expect(revived == [key("a"), key("b")])
        #expect(resumed)
        #expect(table[key("a")]?.state == .ready && table[key("a")]?.recoveries == [:])
        #expect(table[key("b")]?.state == .pending && table[key("b")]?.waitingOn == 1)
        #expect(table.plans["p"]?.state == .running && table.plans["p"]?.open == 2)
        let result17 = table.revive(key("a"), detail: "again")
        #expect(result17 == nil, "a ready TODO cannot be retried")
    }

    @Test func pausedPlansAreHeldBackInOrder() {
        var table = TodoTable()
        _ = table.add(Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x")]), submitJSON: "{}", submittedAt: 1)
        _ = table.add(Plan(id: "q", title: "q", todos: [Todo(id: "b", command: "x")]), submitJSON: "{}", submittedAt: 1)
        let result18 = table.setPaused("p", true)
        #expect(result18?.paused == true)
        let result19 = table.setPaused("p", true)
        #expect(result19 == nil, "no change")
        var heldBack: [TodoKey] = []
        let result20 = table.popReady(heldBack: &heldBack)
        #expect(result20?.key == key("b", plan: "q"))
        let result21 = table.popReady(heldBack: &heldBack)
        #expect(result21 == nil)
        #expect(heldBack == [key("a")])
        table.putBack(heldBack)
        _ = table.setPaused("p", false)
        heldBack = []
        let result22 = table.popReady(heldBack: &heldBack)
        #expect(result22?.key == key("a"))
    }

    @Test func everyTransitionIsHandedToTheStoreOnce() {
        var (table, _) = table([Todo(id: "a", command: "x")])
        var changes = Store.Changes()
        table.takeChanges(into: &changes)
        #expect(changes.newPlans.count == 1 && changes.todos.map(\.key) == [key("a")])
        #expect(!table.hasChanges)
        _ = table.assign(key("a"), to: "w1", at: 1)
        var next = Store.Changes()
        table.takeChanges(into: &next)
        #expect(next.newPlans.isEmpty && next.todos.first?.row.state == .assigned)
    }

    @Test func restoreQueuesReadyTodosAndReturnsLeasedOnes() {
        let plan = Plan(
            id: "p",
            title: "p",
            todos: [Todo(id: "a", command: "x"), Todo(id: "b", command: "x"), Todo(id: "c", command: "x")]
        )
        var table = TodoTable()
        let leased = table.restore(
            PlanRecord(plan: plan, state: .running, order: 0, submittedAt: 1),
            rows: [
                key("a"): TodoRow(state: .running, epoch: 3, leaseID: "p/a@3", worker: "w1"),
                key("b"): TodoRow(state: .done),
            ]
        )
        #expect(leased.map(\.key) == [key("a")])
        #expect(table.plans["p"]?.open == 2)
        var heldBack: [TodoKey] = []
        let result23 = table.popReady(heldBack: &heldBack)
        #expect(result23?.key == key("c"))
    }

    // MARK: - A plan that follows another (merges)

    /// `p`: `a`, `b`, `c` after both; `p-merge` follows it with the same ids and dependencies, one at a time.
    func following() -> TodoTable {
        let todos = [Todo(id: "a", command: "x"), Todo(id: "b", command: "x"), Todo(id: "c", command: "x", dependsOn: ["a", "b"])]
        var table = TodoTable()
        _ = table.add(Plan(id: "p", title: "p", todos: todos), submitJSON: "{}", submittedAt: 1)
        let readied = table.add(
            Plan(id: "p-merge", title: "m", todos: todos),
            submitJSON: "{}",
            submittedAt: 1,
            following: "p",
            serial: true
        )
        #expect(readied.isEmpty, "nothing to merge yet")
        return table
    }

    @Test func aFollowingTodoWaitsForItsTodoAndItsOwnDependencies() {
        var table = following()
        let ended = table.end(key("a"), as: .done, detail: "ok", at: 2)
        #expect(ended?.readied == [key("a", plan: "p-merge")])
        _ = table.end(key("b"), as: .done, detail: "ok", at: 2)
        #expect(table[key("b", plan: "p-merge")]?.state == .ready)
        _ = table.end(key("c"), as: .done, detail: "ok", at: 2)
        #expect(table[key("c", plan: "p-merge")]?.state == .pending, "c is merged after a and b are")
        _ = table.end(key("a", plan: "p-merge"), as: .done, detail: "merged", at: 3)
        let last = table.end(key("b", plan: "p-merge"), as: .done, detail: "merged", at: 3)
        #expect(last?.readied == [key("c", plan: "p-merge")])
    }

    @Test func aTodoThatFailsLeavesItsMergeAndWhatFollowsOut() {
        var table = following()
        let ended = table.end(key("a"), as: .failed, detail: "tests fail", at: 2)
        #expect(Set(ended?.skipped ?? []) == [key("c"), key("a", plan: "p-merge"), key("c", plan: "p-merge")])
        #expect(table.plans["p-merge"]?.open == 1, "only b's merge is left")
        let revived = table.revive(key("a"), detail: "retried")
        #expect(Set(revived?.revived ?? []) == [key("a"), key("c"), key("a", plan: "p-merge"), key("c", plan: "p-merge")])
        #expect(table[key("a", plan: "p-merge")]?.state == .pending, "it waits for a again")
        #expect(table.plans["p-merge"]?.open == 3)
    }

    @Test func aSerialPlanLetsOneTodoOutAtATime() {
        var table = following()
        _ = table.end(key("a"), as: .done, detail: "ok", at: 2)
        _ = table.end(key("b"), as: .done, detail: "ok", at: 2)
        var heldBack: [TodoKey] = []
        let first = table.popReady(heldBack: &heldBack)
        #expect(first?.key == key("a", plan: "p-merge"))
        _ = table.assign(key("a", plan: "p-merge"), to: "w1", at: 3)
        #expect(table.popReady(heldBack: &heldBack)?.key == key("c"), "the plan's own TODOs are not held")
        #expect(table.popReady(heldBack: &heldBack) == nil)
        #expect(heldBack == [key("b", plan: "p-merge")], "b's merge waits for a's")
        table.putBack(heldBack)
        _ = table.end(key("a", plan: "p-merge"), as: .done, detail: "merged", at: 4)
        heldBack = []
        #expect(table.popReady(heldBack: &heldBack)?.key == key("b", plan: "p-merge"))
    }

    @Test func aFollowingPlanIsRestoredWaitingAsItWas() {
        var table = TodoTable()
        let todos = [Todo(id: "a", command: "x"), Todo(id: "b", command: "x")]
        let plan = PlanRecord(plan: Plan(id: "p", title: "p", todos: todos), state: .running, order: 0, submittedAt: 1)
        let merges = PlanRecord(plan: Plan(id: "p-merge", title: "m", todos: todos), state: .running, order: 1, submittedAt: 1)
        _ = table.restore(plan, rows: [key("a"): TodoRow(state: .done), key("b"): TodoRow(state: .running)])
        _ = table.restore(merges, rows: [:], following: "p", serial: true)
        #expect(table[key("a", plan: "p-merge")]?.state == .ready)
        #expect(table[key("b", plan: "p-merge")]?.state == .pending, "b is not done: its merge waits")
    }
}
