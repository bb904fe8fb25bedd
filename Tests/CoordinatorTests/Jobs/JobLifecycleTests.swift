import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Coordinator

/// A job driven through the core with a hand-moved clock: steps as one-TODO plans, their answers moving the job on,
/// the permission item, the job's plan, restarts.
@Suite struct JobLifecycleTests {
    static let classification =
        #"{"kind":"multi_file_change","complexity":"medium","needs_investigation":true,"summary":"rate limits","answer":null}"#
    static let investigation = try! String(
        decoding: JSONEncoder().encode(
            Investigation(
                summary: "A Swift web API",
                layout: "Sources/App",
                conventions: "one type a file",
                constraints: "keep the public API",
                build: "swift build",
                test: "swift test",
                files: ["Sources/App/Routes.swift"],
                risks: ["no tests for routes"]
            )
        ),
        as: UTF8.self
    )
    /// `limit`, then `docs` after it; `fetch` needs the network, `deploy` is high risk.
    static let work = PlannedWork(
        title: "Rate limiting",
        todos: [
            .init(id: "limit", title: "Limit", prompt: "add the limiter", checks: ["swift test"]),
            .init(id: "docs", title: "Docs", prompt: "document it", dependsOn: ["limit"], checks: ["test -f DOCS.md"]),
            .init(
                id: "fetch",
                title: "Fetch",
                prompt: "fetch the table",
                checks: ["true"],
                permissions: Permissions(sandbox: "workspace-write", network: true, writable: [])
            ),
            .init(id: "deploy", title: "Deploy", prompt: "deploy", dependsOn: ["fetch"], checks: ["true"], risk: .high),
        ]
    )
    static var workJSON: String { String(decoding: try! JSONEncoder().encode(work), as: UTF8.self) }

    // MARK: - Helpers

    func start(_ harness: CoreHarness, job: String = "j1", goal: String = "add rate limiting", repository: String = "/srv/app.git")
        throws -> JobView
    {
        let sent = try harness.control(.job, JobRequest(action: .start, job: job, goal: goal, repository: repository, base: "main"))
        return try #require(try sent.first { $0.header?.type == .job }?.decode(JobsBody.self).jobs.first)
    }

    func job(_ harness: CoreHarness, _ id: String = "j1") -> JobRecord? { harness.core.jobs[id] }

    /// The step assigned now, answered with `output`.
    @discardableResult
    func answer(_ harness: CoreHarness, _ assign: AssignBody, _ output: String, worker: String = "w1") throws -> [Sent] {
        try harness.report(worker, assign, output: output)
    }

    /// Merges every TODO the merge queue hands out, until none is left: each goes in.
    @discardableResult
    func mergeAll(_ harness: CoreHarness, job id: String = "j1") throws -> [Sent] {
        var all: [Sent] = []
        while true {
            all += try harness.tick()
            let out = harness.core.todos.todos.values.filter { $0.key.plan == "\(id)-merge" && $0.state.holdsLease }
            guard let merge = out.first, let lease = merge.leaseID else { return all }
            all += try harness.fromWorker(
                merge.worker ?? "w1",
                .report,
                ReportBody(
                    leaseId: lease,
                    epoch: merge.epoch,
                    outcome: .succeeded,
                    exitCode: nil,
                    summary: "merged",
                    outputTail: "",
                    durationMs: 1,
                    checks: [],
                    merge: MergeResult(outcome: .merged, head: "head-\(merge.key.todo)")
                )
            )
        }
    }

    /// The assign `sent` holds, or the next tick's (of `plan`, when named).
    func nextAssign(_ harness: CoreHarness, _ sent: [Sent], plan: String? = nil) throws -> AssignBody {
        let mine = { (assign: AssignBody) in plan == nil || assign.lease.plan == plan }
        if let assign = try sent.assigns().first(where: mine) { return assign }
        return try #require(try harness.tick().assigns().first(where: mine))
    }

    static let commands = #"{"kind":"commands","complexity":"low","needs_investigation":false,"summary":"s","answer":null}"#

    /// Starts a job and answers its steps up to the planner's; returns the planner's assign.
    func toPlanStep(_ harness: CoreHarness, job id: String = "j1", investigate: Bool = true) throws -> AssignBody {
        _ = try start(harness, job: id)
        let classify = try nextAssign(harness, [], plan: "\(id)-classify")
        guard investigate else { return try nextAssign(harness, try answer(harness, classify, Self.commands), plan: "\(id)-plan") }
        let step = try nextAssign(harness, try answer(harness, classify, Self.classification), plan: "\(id)-investigate")
        return try nextAssign(harness, try answer(harness, step, Self.investigation), plan: "\(id)-plan")
    }

    /// Runs a job to its plan, which needs `network` and `risk:high`: then it asks, or its permissions were
    /// remembered and it executes.
    func toPermissionsOrExecute(_ harness: CoreHarness, job id: String) throws {
        try answer(harness, try toPlanStep(harness, job: id), Self.workJSON)
    }

    /// Runs a job to PERMISSION_NEGOTIATE; returns the item.
    func toPermissions(_ harness: CoreHarness, job id: String = "j1") throws -> InboxItem {
        try toPermissionsOrExecute(harness, job: id)
        #expect(job(harness, id)?.state == .permissionNegotiate)
        return try #require(harness.core.inbox.items.first { $0.job == id })
    }

    // MARK: - The lifecycle

    @Test func aGoalMovesThroughItsStepsToItsPlan() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let started = try start(harness)
        #expect(started.state == .classify)
        #expect(started.step == "j1-classify")

        let classify = try nextAssign(harness, [])
        #expect(classify.lease.plan == "j1-classify")
        #expect(classify.task.output?.step == .classify)
        #expect(classify.task.output?.schema == JobStep.classify.schema)
        #expect(classify.task.branch == nil, "a step works detached, on no branch")
        #expect(classify.task.base == "main")
        #expect(classify.task.repository == "/srv/app.git")
        #expect(classify.task.permissions == Permissions(sandbox: "read-only", network: false))
        #expect(classify.task.prompt?.hasPrefix("Drover job step: classify") == true)
        #expect(classify.task.prompt?.contains("add rate limiting") == true)

        let investigate = try nextAssign(harness, try answer(harness, classify, Self.classification))
        #expect(job(harness)?.state == .investigate)
        #expect(job(harness)?.classification?.summary == "rate limits")
        #expect(investigate.task.output?.step == .investigate)

        let planStep = try nextAssign(harness, try answer(harness, investigate, Self.investigation))
        #expect(job(harness)?.state == .plan)
        let context = try #require(job(harness)?.context)
        #expect(context.contains("## How to test\nswift test"))
        #expect(planStep.task.prompt?.contains(context) == true, "the planner is given the context document")

        let sent = try answer(harness, planStep, Self.workJSON)
        #expect(job(harness)?.state == .permissionNegotiate)
        let item = try #require(harness.core.inbox.items.first)
        #expect(item.kind == .permissions)
        #expect(item.job == "j1")
        #expect(item.grants?.map(\.id) == ["network", "risk:high"])
        #expect(item.grants?.first?.todos == ["fetch"])
        #expect(sent.eventTypes.contains("job.permissions_asked"))
        #expect(try sent.assigns().isEmpty, "nothing of the plan runs before the permissions are decided")

        // The network is refused: `fetch` is skipped, and `deploy` (high risk, granted) with it since it needs fetch.
        let answered = try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: ["risk:high"]))
        #expect(try answered.errors().isEmpty)
        #expect(job(harness)?.state == .execute)
        #expect(job(harness)?.permissions?.refused == ["network"])
        #expect(job(harness)?.skippedByPermissions == ["fetch", "deploy"])
        #expect(harness.state("j1", "fetch") == nil, "left out of the plan that runs")
        #expect(harness.core.todos.plans["j1"]?.plan.todos.map(\.id) == ["limit", "docs"])
        #expect(job(harness)?.plan?.todos.count == 4, "the job keeps the whole plan")
        #expect(harness.core.inbox.isEmpty)

        let limit = try #require(try harness.tick().assigns().first { $0.lease.todo == "limit" })
        #expect(limit.task.branch == "drover/j1/limit")
        #expect(limit.task.base == "main")
        #expect(limit.task.context == context, "each TODO's session is given the context document")
        #expect(limit.task.output == nil)
        let docs = try #require(try harness.report("w1", limit).assigns().first { $0.lease.todo == "docs" })
        let ended = try harness.report("w1", docs)
        #expect(job(harness)?.state == .finalize, "every TODO ended: their work is being merged")
        #expect(job(harness)?.reason.contains("0 of 2 merged") == true, "\(job(harness)?.reason ?? "")")
        #expect(ended.events.contains { $0.type == .jobTransition && $0.data["to"] == "finalize" })
        let last = try mergeAll(harness)
        #expect(job(harness)?.state == .done, "once its work is merged")
        #expect(job(harness)?.reason.contains("2 skipped for refused permissions") == true)
        #expect(job(harness)?.reason.contains("2 of 2 merged into drover/j1/integration") == true, "\(job(harness)?.reason ?? "")")
        let moves = job(harness)?.transitions.map(\.to.rawValue)
        #expect(moves == ["classify", "investigate", "plan", "permission_negotiate", "execute", "finalize", "done"])
        #expect(last.events.contains { $0.type == .jobTransition && $0.topic == "job.j1" && $0.data["to"] == "done" })
        #expect(harness.core.todos.plans["j1"]?.state == .done, "the plan that ran is done: the skipped TODOs were not in it")
    }

    @Test func aQuestionEndsWithItsAnswer() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness, goal: "which test framework does this use?")
        let classify = try nextAssign(harness, [])
        let output = #"{"kind":"question","complexity":"low","needs_investigation":false,"summary":"asks","answer":"Swift Testing."}"#
        let sent = try answer(harness, classify, output)
        #expect(job(harness)?.state == .done)
        #expect(job(harness)?.answer == "Swift Testing.")
        #expect(try sent.assigns().isEmpty)
        #expect(try harness.tick().assigns().isEmpty, "nothing more runs")
    }

    @Test func aOneFileChangeSkipsTheInvestigation() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        let output = #"{"kind":"one_file_change","complexity":"low","needs_investigation":false,"summary":"typo","answer":null}"#
        let next = try nextAssign(harness, try answer(harness, classify, output))
        #expect(next.lease.plan == "j1-plan")
        #expect(job(harness)?.state == .plan)
    }

    @Test func aPlanThatNeedsNothingRunsAtOnce() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let planStep = try toPlanStep(harness, investigate: false)
        let simple = PlannedWork(title: "t", todos: [.init(id: "run", title: "Run", prompt: "run it", checks: ["true"])])
        let sent = try answer(harness, planStep, String(decoding: try JSONEncoder().encode(simple), as: UTF8.self))
        #expect(job(harness)?.state == .execute)
        #expect(job(harness)?.permissions?.decidedBy == "none needed")
        #expect(harness.core.inbox.isEmpty)
        let run = try nextAssign(harness, sent)
        #expect(run.lease.plan == "j1")
    }

    // MARK: - Answers that cannot be used

    @Test func anUnusableAnswerFailsTheJobNamingItsProblems() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let planStep = try toPlanStep(harness, investigate: false)
        let cyclic = PlannedWork(
            title: "t",
            todos: [
                .init(id: "a", title: "A", prompt: "a", dependsOn: ["b"], checks: ["true"]),
                .init(id: "b", title: "B", prompt: "b", dependsOn: ["a"], checks: ["true"]),
            ]
        )
        try answer(harness, planStep, String(decoding: try JSONEncoder().encode(cyclic), as: UTF8.self))
        #expect(job(harness)?.state == .failed)
        #expect(job(harness)?.reason.contains("dependency cycle: a -> b -> a") == true)
    }

    @Test func aStepThatFailsFailsTheJob() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        try harness.report("w1", classify, .failed)
        #expect(job(harness)?.state == .failed)
        #expect(job(harness)?.reason.hasPrefix("the classify step failed") == true)
    }

    @Test func aStepThatEscalatesWaitsForAnOperator() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        try harness.report("w1", classify, .escalated)
        #expect(job(harness)?.state == .classify)
        #expect(job(harness)?.reason.contains("drover todo retry j1-classify/classify") == true)
        let again = try nextAssign(harness, try harness.control(.todo, TodoRequest(plan: "j1-classify", todo: "classify", action: .retry)))
        #expect(again.lease.epoch == 2)
        try answer(harness, again, #"{"kind":"question","complexity":"low","needs_investigation":false,"summary":"s","answer":"yes"}"#)
        #expect(job(harness)?.state == .done)
    }

    // MARK: - Permissions

    @Test func grantsTheItemDoesNotAskForAreRefusedByName() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        let sent = try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: ["network", "write:/etc"]))
        let error = try #require(try sent.errors().first)
        #expect(error.message.contains("does not ask for write:/etc"))
        #expect(error.message.contains("it asks for: network, risk:high"))
        #expect(harness.core.inbox.items.map(\.id) == [item.id], "the item still waits")
        #expect(job(harness)?.state == .permissionNegotiate)
        let reply = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "ok"))
        #expect(try reply.errors().first?.message.contains("approve") == true)
    }

    @Test func denyingEndsTheJob() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .deny))
        #expect(job(harness)?.state == .cancelled)
        #expect(harness.core.todos.plans["j1"] == nil, "the plan never ran")
    }

    @Test func aRefusedGrantCanBePlannedAround() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        let sent = try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: ["risk:high"], replan: true))
        #expect(job(harness)?.state == .plan)
        let replan = try nextAssign(harness, sent)
        #expect(replan.lease.plan == "j1-plan-2")
        #expect(replan.task.prompt?.contains("must not need them: `network`") == true)
    }

    @Test func aRememberedDecisionIsNotAskedAgain() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: ["risk:high"], remember: true))
        let rules = try harness.control(.policy, PolicyRequest(action: .list)).first { $0.header?.type == .policy }?.decode(PolicyBody.self)
        #expect(rules?.rules.map { "\($0.grant) \($0.decision)" } == ["network deny", "risk:high approve"])

        _ = try toPermissionsOrExecute(harness, job: "j2")
        #expect(job(harness, "j2")?.state == .execute)
        #expect(job(harness, "j2")?.permissions?.decidedBy == "policy")
        #expect(job(harness, "j2")?.permissions?.refused == ["network"])
        #expect(!harness.core.inbox.items.contains { $0.job == "j2" }, "not asked again")

        let forgotten = try harness.control(.policy, PolicyRequest(action: .forget, repository: "/srv/app.git", grant: "network"))
        #expect(try forgotten.first { $0.header?.type == .policy }?.decode(PolicyBody.self).rules.map(\.grant) == ["network"])
        #expect(forgotten.eventTypes.contains("policy.forgotten"))
        _ = try toPermissionsOrExecute(harness, job: "j3")
        #expect(job(harness, "j3")?.state == .permissionNegotiate)
        #expect(harness.core.inbox.items.first { $0.job == "j3" }?.grants?.map(\.id) == ["network"], "only what is not remembered")
    }

    // MARK: - Restarts

    @Test func aRestartDuringThePermissionsAsksWithTheSameItem() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try CoreHarness(statePath: directory.path + "/state.sqlite")
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        try harness.restart()
        try harness.register("w1", slots: 4)
        #expect(harness.core.inbox.items.map(\.id) == [item.id], "asked once, with the same item")
        #expect(job(harness)?.state == .permissionNegotiate)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .approve))
        #expect(job(harness)?.state == .execute)
        #expect(try harness.tick().assigns().count == 2, "limit and fetch start")
    }

    @Test func aRestartDuringAStepGoesOnWithTheSameLease() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try CoreHarness(statePath: directory.path + "/state.sqlite")
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        try harness.restart()
        try harness.register("w1", holding: [classify.lease])
        #expect(job(harness)?.state == .classify)
        let investigate = try nextAssign(harness, try answer(harness, classify, Self.classification))
        #expect(investigate.task.output?.step == .investigate, "a restored job's step is still a step")
        #expect(job(harness)?.state == .investigate)
    }

    // MARK: - Operators

    @Test func cancellingStopsTheRunningStep() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        let sent = try harness.control(.job, JobRequest(action: .cancel, job: "j1"))
        #expect(job(harness)?.state == .cancelled)
        #expect(sent.contains { $0.header?.type == .control && $0.to == "w1" }, "the step's session is stopped")
        // Its late report changes nothing.
        try answer(harness, classify, Self.classification)
        #expect(job(harness)?.state == .cancelled)
    }

    @Test func cancellingBeforeAnyWorkerTookTheStepEndsItCancelled() throws {
        let harness = try CoreHarness()
        _ = try start(harness)
        try harness.control(.job, JobRequest(action: .cancel, job: "j1"))
        #expect(job(harness)?.state == .cancelled, "not failed: its step's plan ended because the job did")
        #expect(harness.state("j1-classify", "classify") == "cancelled")
        #expect(job(harness)?.transitions.map(\.to) == [.classify, .cancelled])
    }

    @Test func cancellingWhileThePlanRunsStopsItsTodos() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .approve))
        let running = try harness.tick().assigns()
        #expect(running.count == 2, "limit and fetch")
        let sent = try harness.control(.job, JobRequest(action: .cancel, job: "j1"))
        #expect(job(harness)?.state == .cancelled)
        #expect(sent.contains { $0.header?.type == .control }, "the running TODOs are stopped on their worker")
        for assign in running { try harness.report("w1", assign, .cancelled) }
        #expect(job(harness)?.state == .cancelled)
        #expect(harness.core.todos.plans["j1"]?.state == .failed)
    }

    @Test func aPlanWhoseEveryTodoIsRefusedFailsTheJob() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let planStep = try toPlanStep(harness, investigate: false)
        let networked = PlannedWork(
            title: "t",
            todos: [
                .init(
                    id: "fetch",
                    title: "Fetch",
                    prompt: "fetch",
                    checks: ["true"],
                    permissions: Permissions(sandbox: "workspace-write", network: true, writable: [])
                )
            ]
        )
        try answer(harness, planStep, String(decoding: try JSONEncoder().encode(networked), as: UTF8.self))
        let item = try #require(harness.core.inbox.items.first)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: []))
        #expect(job(harness)?.state == .failed)
        #expect(job(harness)?.reason.contains("nothing is left to run") == true)
        #expect(harness.core.todos.plans["j1"] == nil)
    }

    @Test func aJobWhosePlanFailedExecutesAgainWhenAnOperatorRetriesATodo() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 4)
        let item = try toPermissions(harness)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .approve, grants: ["risk:high"]))
        let limit = try #require(try harness.tick().assigns().first { $0.lease.todo == "limit" })
        try harness.report("w1", limit, .failed)
        #expect(job(harness)?.state == .failed)
        #expect(job(harness)?.reason.contains("limit failed") == true)

        let sent = try harness.control(.todo, TodoRequest(plan: "j1", todo: "limit", action: .retry))
        #expect(job(harness)?.state == .execute)
        #expect(job(harness)?.reason == "an operator took limit up again")
        #expect(sent.events.contains { $0.type == .jobTransition && $0.data["from"] == "failed" && $0.data["to"] == "execute" })
        let again = try #require(try sent.assigns().first { $0.lease.todo == "limit" })
        let docs = try #require(try harness.report("w1", again).assigns().first { $0.lease.todo == "docs" })
        try harness.report("w1", docs)
        try mergeAll(harness)
        #expect(job(harness)?.state == .done)
    }

    @Test func aFailedStepDoesNotReopenItsJob() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        _ = try start(harness)
        let classify = try nextAssign(harness, [])
        try harness.report("w1", classify, .failed)
        try harness.control(.todo, TodoRequest(plan: "j1-classify", todo: "classify", action: .retry))
        #expect(job(harness)?.state == .failed, "a failed step's job stays failed: start the job again")
    }

    @Test func badRequestsAreRefusedByName() throws {
        let harness = try CoreHarness()
        _ = try start(harness)
        let other = try harness.control(.job, JobRequest(action: .start, job: "j1", goal: "something else", repository: "/srv/app.git"))
        #expect(try other.errors().first?.message.contains("a different job with id \"j1\"") == true)
        let again = try harness.control(
            .job,
            JobRequest(action: .start, job: "j1", goal: "add rate limiting", repository: "/srv/app.git", base: "main")
        )
        #expect(try again.errors().isEmpty, "a retried start gets the job it made")
        let empty = try harness.control(.job, JobRequest(action: .start, goal: " ", repository: "/r"))
        #expect(try empty.errors().first?.message.contains("field 'goal' is empty") == true)
        let unknown = try harness.control(.job, JobRequest(action: .show, job: "nope"))
        #expect(try unknown.errors().first?.message.contains("no job nope") == true)
        let clash = try harness.submit(plan([Todo(id: "a", command: "true")], id: "j1"))
        #expect(try clash.errors().first?.message.contains("is a job's id") == true)
        #expect(harness.core.jobs.all.count == 1)
    }

    @Test func aGeneratedIDComesFromTheGoal() throws {
        let harness = try CoreHarness()
        let sent = try harness.control(.job, JobRequest(action: .start, goal: "Add rate limiting to the API, please!", repository: "/r"))
        let id = try #require(try sent.first { $0.header?.type == .job }?.decode(JobsBody.self).jobs.first?.id)
        #expect(id.hasPrefix("add-rate-limiting-to-the-"))
        #expect(Identifier.isValid(id) && id.count <= JobRequest.maxJobIDLength)
    }
}
