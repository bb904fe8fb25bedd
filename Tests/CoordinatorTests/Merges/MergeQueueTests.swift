import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Coordinator

/// The merge queue through the core, with a hand-moved clock: a plan's merges follow its TODOs one at a time in
/// dependency order, each expecting the head the last one left.
@Suite struct MergeQueueTests {
    /// `a` and `b`, then `c` after both; each with a command check.
    static let work: Plan = {
        var plan = Plan(
            id: "p",
            title: "P",
            repository: "/srv/app.git",
            base: "main",
            todos: [
                Todo(id: "a", command: "echo a > a.txt", checks: [Check(command: "test -f a.txt")]),
                Todo(id: "b", command: "echo b > b.txt", checks: [Check(command: "test -f b.txt"), Check(file: "b.txt")]),
                Todo(id: "c", command: "cat a.txt b.txt > c.txt", dependsOn: ["a", "b"]),
            ]
        )
        plan.title = "P"
        return plan
    }()

    /// Submits the plan and reports `a` done: returns what went out at first (a and b) and a's merge.
    func startWithAsMerge(_ harness: CoreHarness) throws -> (started: [AssignBody], mergeA: AssignBody) {
        let started = try harness.submit(Self.work).assigns()
        let a = try #require(started.first { $0.lease.todo == "a" })
        let mergeA = try #require(try harness.report("w1", a).assigns().first { $0.lease.plan == "p-merge" })
        return (started, mergeA)
    }

    /// The merge assigned now, reported as `result` (succeeded when merged).
    @discardableResult
    func merge(_ harness: CoreHarness, _ assign: AssignBody, _ result: MergeResult, worker: String = "w1") throws -> [Sent] {
        try harness.report(worker, assign, result.outcome == .merged ? .succeeded : .failed, merge: result)
    }

    @Test func mergesFollowTheirTodosOneAtATimeInDependencyOrder() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let started = try harness.submit(Self.work).assigns()
        #expect(Set(started.map(\.lease.todo)) == ["a", "b"])
        #expect(harness.core.todos.plans["p-merge"]?.plan.todos.map(\.id) == ["a", "b", "c"])
        #expect(harness.state("p-merge", "a") == "pending", "nothing to merge before a is done")

        let a = try #require(started.first { $0.lease.todo == "a" })
        let b = try #require(started.first { $0.lease.todo == "b" })
        let firstMerge = try #require(try harness.report("w1", a).assigns().first { $0.lease.plan == "p-merge" })
        let afterB = try harness.report("w1", b).assigns()
        #expect(!afterB.contains { $0.lease.plan == "p-merge" }, "one merge at a time: b's waits for a's")
        #expect(firstMerge.lease.todo == "a")
        let spec = try #require(firstMerge.task.merge)
        #expect(spec.branch == "drover/p/a")
        #expect(spec.integration == "drover/p/integration")
        #expect(spec.expect == nil, "the first merge makes the integration branch")
        #expect(spec.base == "main")
        #expect(spec.baseTag == "drover/p/base")
        #expect(spec.tag == "drover/p/after-a")
        #expect(firstMerge.task.checks == [Check(command: "test -f a.txt")])
        #expect(firstMerge.task.repository == "/srv/app.git")
        #expect(firstMerge.task.command == nil && firstMerge.task.prompt == nil)

        let c = try #require(afterB.first { $0.lease.todo == "c" && $0.lease.plan == "p" })
        #expect(c.task.base == "main", "a and b are not merged yet: c starts from the base with their branches")
        #expect(c.task.dependencies?.map(\.todo) == ["a", "b"])

        let merged = try merge(harness, firstMerge, MergeResult(outcome: .merged, head: "h1"))
        #expect(merged.events.contains { $0.type == .mergeMerged && $0.plan == "p" && $0.todo == "a" && $0.data["head"] == "h1" })
        #expect(merged.events.first { $0.type == .mergeMerged }?.topic == "merge.p")
        let secondMerge = try #require(try merged.assigns().first { $0.lease.plan == "p-merge" })
        #expect(secondMerge.lease.todo == "b")
        #expect(secondMerge.task.merge?.expect == "h1")
        #expect(
            secondMerge.task.checks == [Check(command: "test -f a.txt"), Check(command: "test -f b.txt")],
            "the checks of what is merged"
        )

        try merge(harness, secondMerge, MergeResult(outcome: .merged, head: "h2"))
        let lastMerge = try #require(try harness.report("w1", c).assigns().first { $0.lease.plan == "p-merge" })
        #expect(lastMerge.lease.todo == "c")
        #expect(lastMerge.task.merge?.expect == "h2")
        try merge(harness, lastMerge, MergeResult(outcome: .merged, head: "h3"))
        #expect(harness.core.merges["p"]?.merged == ["a", "b", "c"])
        #expect(harness.core.merges["p"]?.head == "h3")
        #expect(harness.core.todos.plans["p-merge"]?.state == .done)
    }

    @Test func aTodoWhoseDependenciesAreMergedStartsFromTheIntegrationBranch() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 1)
        let first = try #require(try harness.submit(Self.work).assigns().first)
        var pending = [first]
        var seen: [AssignBody] = []
        // One slot: each TODO and merge in turn, every merge succeeding.
        while let next = pending.popLast() {
            seen.append(next)
            let sent =
                next.lease.plan == "p-merge"
                ? try merge(harness, next, MergeResult(outcome: .merged, head: "h-\(next.lease.todo)"))
                : try harness.report("w1", next)
            pending += try sent.assigns()
            if pending.isEmpty { pending += try harness.tick().assigns() }
        }
        let c = try #require(seen.first { $0.lease.plan == "p" && $0.lease.todo == "c" })
        #expect(c.task.base == "drover/p/integration", "a and b were merged before c started: \(seen.map(\.lease.leaseId))")
        #expect(harness.core.merges["p"]?.merged.count == 3)
    }

    @Test func aConflictIsRepairedByCodexAndAFailedRepairWaitsForAnOperator() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let (_, mergeA) = try startWithAsMerge(harness)
        #expect(mergeA.task.prompt == nil, "a plain merge first")
        let hunk = "<<<<<<< HEAD\nmain\n=======\na\n>>>>>>> drover/p/a\n"
        let refused = try merge(harness, mergeA, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: hunk))
        let event = try #require(refused.events.first { $0.type == .mergeRefused })
        #expect(event.data["outcome"] == "conflict")
        #expect(event.data["conflicts"] == .array(["a.txt"]))
        #expect(event.data["next"] != nil, "a repair comes next")

        let repair = try #require(try refused.assigns().first { $0.lease.plan == "p-merge" })
        #expect(repair.lease.epoch == 2)
        let prompt = try #require(repair.task.prompt)
        #expect(prompt.hasPrefix("Drover merge repair: a"))
        #expect(prompt.contains("conflicts in a.txt"))
        #expect(prompt.contains(hunk), "the hunks")
        #expect(prompt.contains("What a was asked to do:\nrun `echo a > a.txt`"))
        #expect(prompt.contains("command `test -f a.txt`"), "the checks to pass")
        #expect(repair.task.merge?.expect == nil)
        #expect(repair.task.budget?.turns == 6)

        try merge(harness, repair, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: hunk))
        #expect(harness.state("p-merge", "a") == "escalated", "past its limit: the queue waits for an operator")
        #expect(harness.state("p-merge", "c") == "skipped")

        // Left out: what depends on it stays out; the rest of the queue goes on.
        let skipped = try harness.control(.merge, MergeRequest(plan: "p", todo: "a", action: .skip, reason: "we keep main's version"))
        #expect(try skipped.errors().isEmpty)
        #expect(harness.state("p-merge", "a") == "skipped")
        #expect(skipped.events.contains { $0.type == .mergeSkipped && $0.data["reason"] == "we keep main's version" })
        #expect(harness.core.todos[TodoKey(plan: "p-merge", todo: "a")]?.detail == "left out of the integration: we keep main's version")
    }

    @Test func anEscalatedMergeWaitsInTheInboxWithItsEvidenceUntilAnOperatorDecides() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try CoreHarness(statePath: directory.path + "/state.sqlite")
        try harness.register("w1", slots: 4)
        let (_, mergeA) = try startWithAsMerge(harness)
        let hunk = "<<<<<<< HEAD\nmain\n=======\na\n>>>>>>> drover/p/a\n"
        let refused = try merge(harness, mergeA, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: hunk))
        let repair = try #require(try refused.assigns().first { $0.lease.plan == "p-merge" })
        #expect(harness.core.inbox.isEmpty, "a repair comes first: nothing to ask yet")
        let escalated = try merge(harness, repair, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: hunk))

        let item = try #require(harness.core.inbox.items.first)
        #expect(item.id == "p-merge-a")
        #expect(item.kind == .merge)
        #expect(item.plan == "p")
        #expect(item.todo == "a")
        #expect(item.text.contains("The merge of a into drover/p/integration could not be done"))
        #expect(item.text.contains("conflict in a.txt"), "\(item.text)")
        #expect(item.text.contains(hunk), "the evidence: the conflicting hunks")
        #expect(escalated.events.contains { $0.type == .inboxAdded && $0.data["kind"] == "merge" })

        // A free-text reply is not an answer to it; the item keeps waiting.
        let replied = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "hmm"))
        #expect(try replied.errors().first?.message.contains("approve it to try the merge again, or deny it") == true)
        #expect(harness.core.inbox.items.map(\.id) == ["p-merge-a"])

        // A restart asks again under the same item, without a second event.
        try harness.restart()
        #expect(harness.core.inbox.items.map(\.id) == ["p-merge-a"])
        try harness.register("w1", slots: 4)

        // Approved: the merge is tried again; the item leaves the inbox.
        let approved = try harness.control(.answer, AnswerBody(item: item.id, decision: .approve))
        #expect(try approved.errors().isEmpty)
        #expect(harness.core.inbox.isEmpty)
        #expect(approved.events.contains { $0.type == .inboxAnswered && $0.data["decision"] == "approve" })
        let again = try #require(try approved.assigns().first { $0.lease.plan == "p-merge" && $0.lease.todo == "a" })
        try failBothTries(harness, again, MergeResult(outcome: .checksFailed, detail: "test -f a.txt: exit 1"))
        #expect(harness.state("p-merge", "a") == "escalated")
        #expect(harness.core.inbox.items.map(\.id) == ["p-merge-a"], "asked again")

        // Denied, with a reason: the TODO's work is left out.
        let denied = try harness.control(.answer, AnswerBody(item: item.id, decision: .deny, text: "we keep main's version"))
        #expect(try denied.errors().isEmpty)
        #expect(harness.state("p-merge", "a") == "skipped")
        #expect(harness.core.inbox.isEmpty)
        #expect(denied.events.contains { $0.type == .mergeSkipped && $0.data["reason"] == "we keep main's version" })
        let gone = try harness.control(.answer, AnswerBody(item: item.id, decision: .approve))
        #expect(try gone.errors().first?.message.contains("no inbox item p-merge-a") == true)
    }

    /// A merge taken up again has its two tries again: both fail.
    func failBothTries(_ harness: CoreHarness, _ first: AssignBody, _ result: MergeResult) throws {
        let second = try #require(try merge(harness, first, result).assigns().first { $0.lease.plan == "p-merge" })
        try merge(harness, second, result)
    }

    @Test func aMergeRetriedOrSkippedElsewhereLeavesTheInbox() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let (_, mergeA) = try startWithAsMerge(harness)
        let refused = try merge(harness, mergeA, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: "x"))
        let repair = try #require(try refused.assigns().first { $0.lease.plan == "p-merge" })
        try merge(harness, repair, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: "x"))
        #expect(harness.core.inbox.count == 1)
        let retried = try harness.control(.todo, TodoRequest(plan: "p-merge", todo: "a", action: .retry))
        #expect(harness.core.inbox.isEmpty)
        #expect(retried.events.contains { $0.type == .inboxDropped && $0.data["item"] == "p-merge-a" })
        let again = try #require(try retried.assigns().first { $0.lease.plan == "p-merge" })
        try failBothTries(harness, again, MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: "x"))
        #expect(harness.core.inbox.count == 1)
        let skipped = try harness.control(.merge, MergeRequest(plan: "p", todo: "a", action: .skip))
        #expect(harness.core.inbox.isEmpty)
        #expect(skipped.events.contains { $0.type == .inboxDropped && $0.data["item"] == "p-merge-a" })
    }

    @Test func onlyAQueuedMergeCanBeSkipped() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let (_, mergeA) = try startWithAsMerge(harness)
        try merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1"))
        let merged = try harness.control(.merge, MergeRequest(plan: "p", todo: "a", action: .skip))
        #expect(try merged.errors().first?.message.contains("p/a is not queued to merge (its merge is done)") == true)
        let unknown = try harness.control(.merge, MergeRequest(plan: "p", todo: "zz", action: .skip))
        #expect(try unknown.errors().first?.message.contains("plan p has no TODO zz") == true)
        let noQueue = try harness.control(.merge, MergeRequest(plan: "nope", todo: "a", action: .skip))
        #expect(try noQueue.errors().first?.message.contains("plan nope has no merge queue") == true)
        // A merge that waits (b is not done) is left out at once, with what depends on it.
        let waiting = try harness.control(.merge, MergeRequest(plan: "p", todo: "b", action: .skip, reason: "not wanted"))
        #expect(try waiting.errors().isEmpty)
        #expect(harness.state("p-merge", "b") == "skipped")
        #expect(harness.state("p-merge", "c") == "skipped")
    }

    @Test func aPlanWithoutARepositoryHasNoMerges() throws {
        let harness = try CoreHarness()
        try harness.submit(plan([Todo(id: "a", command: "true")]))
        #expect(harness.core.todos.plans["p-merge"] == nil)
        #expect(harness.core.merges["p"] == nil)
    }

    @Test func aPlanWhoseMergesWouldClashIsRefused() throws {
        let harness = try CoreHarness()
        try harness.submit(plan([Todo(id: "a", command: "true")], id: "x-merge"))
        var clashing = plan([Todo(id: "a", command: "true")], id: "x")
        clashing.repository = "/srv/app.git"
        let sent = try harness.submit(clashing)
        let error = try #require(try sent.errors().first)
        #expect(error.message.contains("this plan's merges would run under that id"), "\(error.message)")
    }

    @Test func aRestartKeepsTheQueueWhereItWas() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try CoreHarness(statePath: directory.path + "/state.sqlite")
        try harness.register("w1", slots: 4)
        let (started, mergeA) = try startWithAsMerge(harness)
        let b = try #require(started.first { $0.lease.todo == "b" })
        try merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1"))
        try harness.restart()
        #expect(harness.core.merges["p"]?.head == "h1")
        #expect(harness.state("p-merge", "b") == "pending", "b's merge still waits for b")
        try harness.register("w1", slots: 4, holding: [b.lease])
        let mergeB = try #require(try harness.report("w1", b).assigns().first { $0.lease.plan == "p-merge" })
        #expect(mergeB.task.merge?.expect == "h1")
    }

    // MARK: - Conflict-aware scheduling

    func overlapping(_ mode: Schedule.Overlap?) -> Plan {
        Plan(
            id: "o",
            title: "o",
            schedule: mode.map { Schedule(overlap: $0) },
            todos: [
                Todo(id: "routes", command: "true", files: ["Sources/App/*.swift"]),
                Todo(id: "auth", command: "true", files: ["Sources/App/Auth.swift"]),
                Todo(id: "docs", command: "true", files: ["docs/**"]),
            ]
        )
    }

    @Test func todosThatMayTouchTheSameFilesDoNotRunTogether() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let sent = try harness.submit(overlapping(nil))
        let started = try sent.assigns().map(\.lease.todo)
        #expect(Set(started) == ["routes", "docs"], "auth waits for routes though slots are free")
        let held = try #require(sent.events.first { $0.type == .todoHeld })
        #expect(held.todo == "auth" && held.data["with"] == "routes" && held.data["files"] == .array(["Sources/App/Auth.swift"]))
        #expect(harness.core.todos[TodoKey(plan: "o", todo: "auth")]?.detail?.contains("waits for routes") == true)
        #expect(try harness.tick().events.filter { $0.type == .todoHeld }.isEmpty, "said once")

        let routes = try #require(try sent.assigns().first { $0.lease.todo == "routes" })
        let next = try harness.report("w1", routes)
        #expect(try next.assigns().map(\.lease.todo) == ["auth"], "it goes once routes is done")
    }

    @Test func theFilesARunningTodoChangedSoFarKeepOthersThatMayTouchThemWaiting() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let plan = Plan(
            id: "o",
            title: "o",
            todos: [Todo(id: "edit", command: "true"), Todo(id: "auth", command: "true", files: ["Sources/App/Auth.swift"])]
        )
        let edit = try #require(try harness.submit(plan).assigns().first)
        #expect(edit.lease.todo == "edit", "it declares no files: nothing to keep apart yet")
        let checkpoint = AgentEvent(kind: .checkpoint, text: "checkpoint 1a2b3c4 pushed", files: ["Sources/App/Auth.swift"])
        let progress = try harness.fromWorker("w1", .progress, ProgressBody(leaseId: edit.lease.leaseId, epoch: 1, events: [checkpoint]))
        #expect(progress.events.first { $0.type == .agent(.checkpoint) }?.data["files"] == .array(["Sources/App/Auth.swift"]))

        let free = try harness.register("w2")
        #expect(try free.assigns().isEmpty, "auth waits though w2 is free")
        let held = try #require(free.events.first { $0.type == .todoHeld })
        #expect(held.todo == "auth" && held.data["with"] == "edit")
        let review = try #require(
            try harness.control(.review, ReviewRequest()).first { $0.header?.type == .review }?.decode(ReviewBody.self)
        )
        #expect(review.risks.map(\.branches) == [["drover/o/auth", "drover/o/edit"]], "review sees the same files")
        #expect(try harness.report("w1", edit).assigns().map(\.lease.todo) == ["auth"], "it goes once edit is done")
    }

    @Test func overlapsCanBeOnlyWarnedAboutOrIgnored() throws {
        for (mode, event) in [(Schedule.Overlap.warn, true), (.ignore, false)] {
            let harness = try CoreHarness()
            try harness.register("w1", slots: 4)
            let sent = try harness.submit(overlapping(mode))
            #expect(try sent.assigns().count == 3, "\(mode): all three run")
            #expect(sent.events.contains { $0.type == .todoOverlaps && $0.todo == "auth" } == event, "\(mode)")
            #expect(!sent.events.contains { $0.type == .todoHeld })
        }
    }

    // MARK: - FINALIZE

    func report(_ harness: CoreHarness, _ plan: String) throws -> PlanReport? {
        try harness.control(.planReport, ReportRequest(plan: plan)).first { $0.header?.type == .planReport }?.decode(PlanReport.self)
    }

    @Test func aPlanIsFinalizedOnceItsMergesHaveEnded() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let (started, mergeA) = try startWithAsMerge(harness)
        let b = try #require(started.first { $0.lease.todo == "b" })
        let c = try #require(
            try harness.report(
                "w1",
                b,
                checks: [CheckResult(check: "command `test -f b.txt`", passed: true, detail: "exit 0")],
                diffStat: DiffStat(files: 2, insertions: 12, deletions: 3)
            ).assigns().first { $0.lease.todo == "c" }
        )
        let mergeB = try #require(
            try merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1")).assigns().first { $0.lease.plan == "p-merge" }
        )
        let early = try harness.control(.planReport, ReportRequest(plan: "p"))
        #expect(try early.errors().first?.message.contains("has no report yet") == true)

        // c fails: the plan ends, b's merge still goes in, then the plan is finalized.
        try harness.report(
            "w1",
            c,
            .failed,
            checks: [CheckResult(check: "command `test -f c.txt`", passed: false, detail: "exit 1: no c.txt")]
        )
        #expect(harness.core.todos.plans["p"]?.state == .failed)
        #expect(try report(harness, "p") == nil, "not before its merges have ended")
        let last = try merge(harness, mergeB, MergeResult(outcome: .merged, head: "h2"))
        let finalized = try #require(last.events.first { $0.type == .planFinalized })
        #expect(finalized.data["merged"] == 2 && finalized.data["head"] == "h2" && finalized.data["done"] == 2)

        let made = try #require(try report(harness, "p"))
        #expect(made.state == .failed)
        #expect(made.todos.map(\.state) == [.done, .done, .failed])
        #expect(made.todos[0].merge == "done")
        #expect(made.todos[0].checks == ["command `test -f a.txt`"])
        #expect(made.todos[1].diffStat == DiffStat(files: 2, insertions: 12, deletions: 3), "how much b's branch changed")
        #expect(made.todos[1].checkResults?.map(\.passed) == [true], "b's checks' last results")
        #expect(made.todos[2].checkResults?.first?.detail == "exit 1: no c.txt")
        let integration = try #require(made.integration)
        #expect(integration.head == "h2")
        #expect(integration.merged == ["a", "b"])
        #expect(integration.leftOut == ["c": "not done (failed)"])
        #expect(integration.tags == ["drover/p/base", "drover/p/after-a", "drover/p/after-b"])
        #expect(integration.checks == ["command `test -f a.txt`", "command `test -f b.txt`"])
        let markdown = made.markdown
        #expect(markdown.contains("Plan `p` failed: 2 of 3 TODOs done."))
        #expect(markdown.contains("`drover/p/integration` is at `h2`, with 2 of 3 merged: a, b."))
        #expect(markdown.contains("- `c`: not done (failed)"))
        #expect(markdown.contains("| b: b | done | 2 files, +12 −3 | 1/1 passed |"), "\(markdown)")
        #expect(markdown.contains("- `c` check `command `test -f c.txt`` failed: exit 1: no c.txt"))
        #expect(markdown.contains("## Next steps"))
    }

    @Test func aPlanWithoutARepositoryIsFinalizedWhenItEnds() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try #require(try harness.submit(plan([Todo(id: "a", command: "true")])).assigns().first)
        let sent = try harness.report("w1", assign)
        #expect(sent.events.contains { $0.type == .planFinalized && $0.plan == "p" })
        let made = try #require(try report(harness, "p"))
        #expect(made.state == .done && made.integration == nil)
        #expect(made.markdown.contains("Plan `p` done: 1 of 1 TODOs done."))
    }

    // MARK: - Rollback

    @Test func aRollbackIsCheckedThenRecorded() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let (started, mergeA) = try startWithAsMerge(harness)
        try merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1"))
        let b = try #require(started.first { $0.lease.todo == "b" })
        let mergeB = try #require(try harness.report("w1", b).assigns().first { $0.lease.plan == "p-merge" })

        let busy = try harness.control(.rollback, RollbackRequest(plan: "p", step: .check))
        #expect(try busy.errors().first?.message.contains("the merge of b is under way") == true)
        try merge(harness, mergeB, MergeResult(outcome: .merged, head: "h2"))

        let checked = try #require(
            try harness.control(.rollback, RollbackRequest(plan: "p", step: .check, tag: "drover/p/after-a")).first {
                $0.header?.type == .rollback
            }?.decode(RollbackReply.self)
        )
        #expect(checked.expect == "h2" && checked.undone == ["b"] && checked.branch == "drover/p/integration")
        #expect(harness.core.merges["p"]?.merged == ["a", "b"], "a check changes nothing")
        let wrong = try harness.control(.rollback, RollbackRequest(plan: "p", step: .check, tag: "drover/p/after-c"))
        #expect(try wrong.errors().first?.message.contains("is not a tag of plan p: its tags are drover/p/base, drover/p/after-a") == true)

        let recorded = try harness.control(
            .rollback,
            RollbackRequest(plan: "p", step: .record, tag: "drover/p/base", head: "h0", reason: "bad release", by: "ops")
        )
        #expect(try recorded.errors().isEmpty)
        #expect(harness.core.merges["p"]?.merged == [] && harness.core.merges["p"]?.head == "h0")
        #expect(harness.state("p-merge", "a") == "skipped" && harness.state("p-merge", "b") == "skipped")
        let event = try #require(recorded.events.first { $0.type == .mergeRolledBack })
        #expect(event.data["by"] == "ops" && event.data["undone"] == .array(["a", "b"]))
    }

    // MARK: - The base moving

    @Test func aRebaseIsOneMoreStepOfTheQueue() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let early = try harness.submit(Self.work)
        let refused = try harness.control(.merge, MergeRequest(plan: "p", todo: nil, action: .rebase))
        #expect(try refused.errors().first?.message.contains("nothing of plan p is merged yet") == true)

        let a = try #require(try early.assigns().first { $0.lease.todo == "a" })
        let mergeA = try #require(try harness.report("w1", a).assigns().first { $0.lease.plan == "p-merge" })
        try merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1"))
        let queued = try harness.control(.merge, MergeRequest(plan: "p", todo: nil, action: .rebase))
        let reply = try #require(try queued.first { $0.header?.type == .merge }?.decode(MergeReply.self))
        #expect(reply.todo == "rebase-1")
        #expect(queued.events.contains { $0.type == .mergeRebaseQueued && $0.todo == "rebase-1" })
        let step = try #require(try harness.tick().assigns().first { $0.lease.todo == "rebase-1" })
        let spec = try #require(step.task.merge)
        #expect(spec.branch == "main", "the plan's base")
        #expect(spec.expect == "h1")
        #expect(spec.tag == "drover/p/after-rebase-1")
        try merge(harness, step, MergeResult(outcome: .merged, head: "h2"))
        #expect(harness.core.merges["p"]?.head == "h2")
        #expect(harness.core.merges["p"]?.merged == ["a", "rebase-1"])
        let again = try harness.control(.merge, MergeRequest(plan: "p", todo: nil, action: .rebase))
        #expect(try again.first { $0.header?.type == .merge }?.decode(MergeReply.self).todo == "rebase-2")
        let bad = try harness.control(.merge, MergeRequest(plan: "p", todo: "a", action: .rebase))
        #expect(try bad.errors().first?.message.contains("goes with skip and retry, not rebase") == true)
    }
}
