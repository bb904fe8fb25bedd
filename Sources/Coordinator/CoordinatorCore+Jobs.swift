import DroverProtocol
import Foundation

/// Jobs: from a goal to a plan that runs. Each step (classify, investigate, plan) runs as a one-TODO plan
/// (``JobStepPlan``); when that plan ends, its answer moves the job on (``JobDecisions``). The job's own plan runs
/// under the job's id once its permissions are decided. Every move is a `job.transition` event and is stored with
/// the batch that caused it.
extension CoordinatorCore {
    func operate(_ request: JobRequest, now: Int64) throws(ProtocolError) -> JobsBody {
        switch request.action {
        case .start:
            return JobsBody(jobs: [try startJob(request).view(full: true, counts: nil)])
        case .list:
            return JobsBody(jobs: jobs.all.map { withSpend($0.view(full: false, counts: jobCounts($0)), of: $0, full: false) })
        case .cancel:
            let job = try existingJob(request.job)
            cancelJob(job, now: now)
            return JobsBody(jobs: [view(of: jobs[job.id] ?? job)])
        default:
            return JobsBody(jobs: [view(of: try existingJob(request.job))])
        }
    }

    func view(of job: JobRecord) -> JobView { withSpend(job.view(full: true, counts: jobCounts(job)), of: job, full: true) }

    private func jobCounts(_ job: JobRecord) -> [String: Int]? {
        todos.plans[job.id].map { todos.counts(of: $0.plan) }
    }

    private func existingJob(_ id: String?) throws(ProtocolError) -> JobRecord {
        guard let id, let job = jobs[id] else {
            throw ProtocolError(.rejected, "no job \(id ?? "(none named)"): see `drover job list`")
        }
        return job
    }

    // MARK: - Starting

    private func startJob(_ request: JobRequest) throws(ProtocolError) -> JobRecord {
        let goal = (request.goal ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let repository = request.repository ?? ""
        if let id = request.job, let existing = jobs[id] {
            // A retried start is answered with the job it made; another goal under the same id is refused.
            guard existing.goal == goal, existing.repository == repository, existing.base == request.base else {
                throw ProtocolError(.rejected, "a different job with id \"\(id)\" is already here: give the new job another id")
            }
            return existing
        }
        let id = request.job ?? newJobID(for: goal)
        if todos.plans.keys.contains(where: { $0 == id || $0.hasPrefix("\(id)-") }) {
            throw ProtocolError(.rejected, "plan ids beginning with \"\(id)\" are taken: give the job another id")
        }
        let now = wallClockMilliseconds()
        jobs.add(JobRecord(id: id, goal: goal, repository: repository, base: request.base, createdAt: now), reason: "started from a goal")
        var data: [String: JSONValue] = ["goal": .string(goal), "repository": .string(repository)]
        if let base = request.base { data["base"] = .string(base) }
        record(.jobCreated, plan: id, data)
        record(.jobTransition, plan: id, ["to": .string(JobState.classify.rawValue), "reason": "started from a goal"])
        runStep(.classify, of: id)
        return jobs[id]!
    }

    /// A readable id from the goal's first words, with a random tail: `add-rate-limiting-3f9a`.
    private func newJobID(for goal: String) -> String {
        let words = goal.lowercased().split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.prefix(5)
        var stem = String(words.joined(separator: "-").prefix(32))
        while stem.hasSuffix("-") { stem.removeLast() }
        if stem.isEmpty { stem = "job" }
        while true {
            let id = "\(stem)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
            if jobs[id] == nil && !todos.plans.keys.contains(where: { $0 == id || $0.hasPrefix("\(id)-") }) { return id }
        }
    }

    // MARK: - Steps

    /// Runs a step as a plan of its own; it is scheduled with the next batch.
    private func runStep(_ step: JobStep, of id: String) {
        guard let job = jobs[id] else { return }
        let run = (job.stepRuns[step.rawValue] ?? 0) + 1
        let plan = JobStepPlan.plan(for: step, of: job, run: run)
        jobs.update(id) {
            $0.stepRuns[step.rawValue] = run
            $0.stepPlan = plan.id
        }
        addPlan(plan, submitJSON: String(decoding: codec.json(SubmitBody(plan: plan)), as: UTF8.self))
    }

    /// A step's answer arrived with its report; it is read when the step's plan ends, in this batch.
    func keepStepAnswer(_ output: String, plan: String) {
        guard jobs.step(runningAs: plan) != nil else { return }
        jobs.answers[plan] = output
    }

    /// A plan ended: if it ran a job's step or a job's plan, the job moves on.
    func jobPlanEnded(_ plan: PlanRecord) {
        let id = plan.plan.id
        let answer = jobs.answers.removeValue(forKey: id)
        if let (job, step) = jobs.step(runningAs: id) {
            stepEnded(step, of: job, plan: plan, answer: answer)
        } else if let job = jobs[id], job.state.isRunningPlan {
            executionEnded(job, plan: plan)
        } else if let integration = merges.integration(mergedBy: id), let job = jobs[integration.plan], job.state.isRunningPlan,
            let jobPlan = todos.plans[job.id], jobPlan.state != .running
        {
            // The last merge of a job's plan went in (or was left out) after the plan itself ended.
            executionEnded(job, plan: jobPlan)
        }
    }

    private func stepEnded(_ step: JobStep, of job: JobRecord, plan: PlanRecord, answer: String?) {
        let now = wallClockMilliseconds()
        let todo = todos[TodoKey(plan: plan.plan.id, todo: step.rawValue)]
        guard plan.state == .done else {
            if todo?.state == .escalated {
                jobs.explain(
                    job.id,
                    "the \(step.rawValue) step waits for an operator (\(todo?.detail ?? "escalated")): "
                        + "`drover todo retry \(plan.plan.id)/\(step.rawValue)` runs it again",
                    at: now
                )
                return
            }
            fail(job.id, "the \(step.rawValue) step \(todo?.state.rawValue ?? "failed"): \(todo?.detail ?? "no detail")")
            return
        }
        guard let answer else {
            fail(job.id, "the \(step.rawValue) step ended without an answer (its worker sent none)")
            return
        }
        switch step.read(answer) {
        case .failure(let error):
            fail(
                job.id,
                "the \(step.rawValue) step's answer is not usable:\n\(error)",
                ["problems": .array(error.problems.map { .string($0.description) })]
            )
        case .success(.classification(let classification)):
            jobs.update(job.id) {
                $0.classification = classification
                $0.answer = classification.answer
                $0.stepPlan = nil
            }
            artifact(job.id, step, ["kind": .string(classification.kind.rawValue), "summary": .string(classification.summary)])
            let (next, reason) = JobDecisions.next(after: classification)
            move(
                job.id,
                to: next,
                reason,
                ["kind": .string(classification.kind.rawValue), "complexity": .string(classification.complexity)]
            )
            if let step = next.step { runStep(step, of: job.id) }
        case .success(.investigation(let investigation)):
            jobs.update(job.id) {
                $0.context = investigation.document
                $0.stepPlan = nil
            }
            artifact(job.id, step, ["summary": .string(investigation.summary), "files": .int(Int64(investigation.files.count))])
            move(job.id, to: .plan, "the repository was investigated", ["summary": .string(investigation.summary)])
            runStep(.plan, of: job.id)
        case .success(.plan(let work)):
            planned(job.id, work)
        case .success(.recommendations), .success(.advice):
            fail(job.id, "the \(step.rawValue) step answered in another step's shape, which no job step asks for")
        }
    }

    /// The planner's answer: checked against what is here, then the permissions are negotiated.
    private func planned(_ id: String, _ work: PlannedWork) {
        guard let job = jobs[id] else { return }
        let plan = work.plan(id: id, repository: job.repository, base: job.base, context: job.context)
        let grants = PermissionGrant.needed(by: plan)
        jobs.update(id) {
            $0.plan = plan
            $0.grants = grants
            $0.stepPlan = nil
        }
        artifact(id, .plan, ["title": .string(plan.title), "todos": .int(Int64(plan.todos.count)), "grants": .int(Int64(grants.count))])
        if todos.plans[id] != nil {
            fail(id, "a plan with the job's id \(id) already exists: the job's plan cannot run under it")
            return
        }
        let evidence: [String: JSONValue] = [
            "todos": .array(plan.todos.map { .string($0.id) }), "grants": .array(grants.map { .string($0.id) }),
        ]
        switch JobDecisions.negotiate(grants, remembered: { permissions.decision(on: $0, in: job.repository) }) {
        case .noneNeeded:
            move(id, to: .execute, "the plan needs no permission beyond the defaults", evidence)
            let decision = PermissionDecision(granted: [], refused: [], decidedBy: "none needed")
            decided(id, decision)
            execute(id, decision)
        case .remembered(let decision):
            move(id, to: .execute, "every permission the plan needs was decided before for this repository", evidence)
            decided(id, decision)
            execute(id, decision)
        case .ask(let open, let remembered):
            move(id, to: .permissionNegotiate, "the plan needs \(open.count) permission(s) an operator must grant", evidence)
            let item = "\(id)-permissions-\(job.stepRuns[JobStep.plan.rawValue] ?? 1)"
            jobs.update(id) { $0.inboxItem = item }
            askPermissions(id, item: item, open: open, remembered: remembered, announce: true)
        }
    }

    // MARK: - Permissions

    /// Puts the job's permissions item in the inbox (again, after a restart: same id, not asked twice).
    private func askPermissions(_ id: String, item: String, open: [PermissionGrant], remembered: [String: Decision], announce: Bool) {
        let lines = open.map { "- \($0.id): \($0.description) (needed by \($0.todos.joined(separator: ", ")))" }
        var text = "Job \(id) needs these permissions to run its plan:\n" + lines.joined(separator: "\n")
        if !remembered.isEmpty {
            text +=
                "\nDecided before for this repository: "
                + remembered.keys.sorted().map { "\($0) \(remembered[$0]!.rawValue)" }.joined(separator: ", ")
        }
        let inboxItem = InboxItem(
            id: item,
            plan: id,
            todo: "",
            worker: "",
            kind: .permissions,
            text: text,
            askedAt: wallClockMilliseconds(),
            job: id,
            grants: open
        )
        guard inbox.add(Inbox.Waiting(item: inboxItem, destination: .job(id), deadline: nil)), announce else { return }
        record(.inboxAdded, plan: id, ["item": .string(item), "kind": .string(AskKind.permissions.rawValue), "text": .string(text)])
        record(.jobPermissionsAsked, plan: id, ["item": .string(item), "grants": .array(open.map { .string($0.id) })])
    }

    /// The operator's answer to a job's permissions item.
    func answerPermissions(_ body: AnswerBody, waiting: Inbox.Waiting, job id: String) throws(ProtocolError) {
        guard let job = jobs[id], job.state == .permissionNegotiate, job.inboxItem == waiting.item.id else {
            throw ProtocolError(.rejected, "job \(id) no longer waits for \(waiting.item.id)")
        }
        let remembered = Dictionary(
            uniqueKeysWithValues: (job.grants ?? []).compactMap { grant in
                permissions.decision(on: grant.id, in: job.repository).map { (grant.id, $0) }
            }
        )
        let decision = try JobDecisions.decision(body, asked: waiting.item.grants ?? [], remembered: remembered)
        // Valid: only now does the item leave the inbox.
        _ = inbox.take(waiting.item.id)
        record(.inboxAnswered, plan: id, ["item": .string(waiting.item.id), "decision": .string(body.decision.rawValue)])
        jobs.update(id) { $0.inboxItem = nil }
        decided(id, decision)
        if decision.remember {
            let now = wallClockMilliseconds()
            for grant in waiting.item.grants ?? [] {
                permissions.remember(
                    PolicyRule(
                        repository: job.repository,
                        grant: grant.id,
                        decision: decision.granted.contains(grant.id) ? .approve : .deny,
                        decidedAt: now,
                        job: id
                    )
                )
            }
        }
        if body.decision == .deny {
            move(
                id,
                to: .cancelled,
                "the operator denied the permissions the plan needs",
                ["refused": .array(decision.refused.map { .string($0) })]
            )
        } else if decision.replan && !decision.refused.isEmpty {
            jobs.update(id) { $0.avoid = Array(Set($0.avoid + decision.refused)).sorted() }
            move(id, to: .plan, "the operator asked for a plan without \(decision.refused.joined(separator: ", "))")
            runStep(.plan, of: id)
        } else {
            move(id, to: .execute, "the operator decided the permissions", ["granted": .array(decision.granted.map { .string($0) })])
            execute(id, decision)
        }
    }

    private func decided(_ id: String, _ decision: PermissionDecision) {
        jobs.update(id) { $0.permissions = decision }
        record(
            .jobPermissionsDecided,
            plan: id,
            [
                "granted": .array(decision.granted.map { .string($0) }), "refused": .array(decision.refused.map { .string($0) }),
                "decided_by": .string(decision.decidedBy), "remember": .bool(decision.remember),
            ]
        )
    }

    // MARK: - Executing

    /// Submits the job's plan without the TODOs a refused grant rules out (and those that depend on them): the plan
    /// that runs is the work that was allowed, and it is done when all of it is. The job keeps the whole plan and
    /// says which TODOs were skipped and why.
    private func execute(_ id: String, _ decision: PermissionDecision) {
        guard let plan = jobs[id]?.plan else { return }
        let skipped = JobDecisions.skipped(in: plan, by: decision)
        jobs.update(id) { $0.skippedByPermissions = skipped }
        var runnable = plan
        runnable.todos.removeAll { skipped.contains($0.id) }
        guard !runnable.todos.isEmpty else {
            fail(
                id,
                "every TODO of the plan needs a permission that was refused: nothing is left to run",
                ["skipped": .array(skipped.map { .string($0) })]
            )
            return
        }
        addPlan(runnable, submitJSON: String(decoding: codec.json(SubmitBody(plan: runnable)), as: UTF8.self))
        startIntegration(of: runnable)
    }

    /// An operator took a TODO of a job's plan up again after the plan ended: a job that failed, or was finalizing,
    /// executes again.
    func jobPlanResumed(_ plan: String, because todo: String) {
        let reason = "an operator took \(todo) up again"
        if jobs[plan]?.state == .finalize {
            move(plan, to: .execute, reason)
            return
        }
        guard jobs.reopen(plan, reason: reason, at: wallClockMilliseconds()) != nil else { return }
        record(
            .jobTransition,
            plan: plan,
            ["from": .string(JobState.failed.rawValue), "to": .string(JobState.execute.rawValue), "reason": .string(reason)]
        )
    }

    private func executionEnded(_ job: JobRecord, plan: PlanRecord) {
        var states: [String: TodoState] = [:]
        for todo in plan.plan.todos { states[todo.id] = todos[TodoKey(plan: plan.plan.id, todo: todo.id)]?.state }
        let ending = JobDecisions.ending(states: states, skippedByPermissions: Set(job.skippedByPermissions))
        if case .waiting(let reason) = ending {
            jobs.explain(job.id, reason, at: wallClockMilliseconds())
            return
        }
        // FINALIZE: every TODO has ended; the job ends once their work is merged too (or left out of the
        // integration branch), in the batch that makes the plan's report.
        let integration = merges[job.id]
        let mergePlan = integration.flatMap { todos.plans[$0.mergePlan] }
        let merged = integration.map {
            "\($0.merged.count) of \(mergePlan?.plan.todos.count ?? 0) merged into \(plan.plan.integrationBranch)"
        }
        if job.state == .execute {
            move(
                job.id,
                to: .finalize,
                "every TODO of the plan has ended: " + (merged.map { "merging their work, \($0)" } ?? "making the report")
            )
        }
        if let mergePlan, mergePlan.state == .running {
            jobs.explain(job.id, mergeWait(job.id, mergePlan: mergePlan.plan.id) + "; " + (merged ?? ""), at: wallClockMilliseconds())
            return
        }
        let suffix = (merged.map { "; \($0)" } ?? "") + "; see `drover plan report \(job.id)`"
        switch ending {
        case .done(let reason): move(job.id, to: .done, reason + suffix)
        case .failed(let reason): move(job.id, to: .failed, reason + suffix)
        case .waiting: break
        }
    }

    /// Why a job in FINALIZE waits: a merge escalated to the operators, or the queue at work.
    private func mergeWait(_ job: String, mergePlan: String) -> String {
        let escalated =
            todos.plans[mergePlan]?.plan.todos.filter { todos[TodoKey(plan: mergePlan, todo: $0.id)]?.state == .escalated } ?? []
        guard !escalated.isEmpty else { return "the plan's work is being merged" }
        return "the merge of \(escalated.map(\.id).joined(separator: ", ")) waits for an operator (`drover inbox`)"
    }

    // MARK: - Cancelling

    private func cancelJob(_ job: JobRecord, now: Int64) {
        guard !job.state.isTerminal else { return }
        // The job ends first: its plans, cancelled after, end as plans of a job that is over.
        move(job.id, to: .cancelled, "cancelled by an operator")
        for plan in [job.stepPlan, job.state.isRunningPlan ? job.id : nil].compactMap({ $0 }) {
            _ = try? operate(PlanRequest(plan: plan, action: .cancel), now: now)
        }
        if let item = job.inboxItem, inbox.take(item) != nil {
            record(.inboxDropped, plan: job.id, ["item": .string(item)])
        }
    }

    // MARK: - Restart

    /// Puts the jobs back after a restart; a job that waited for its permissions asks with the same item again.
    func restoreJobs(_ snapshot: Store.Snapshot) {
        for rule in snapshot.policyRules { permissions.restore(rule) }
        for job in snapshot.jobs {
            jobs.restore(job)
            guard job.state == .permissionNegotiate, let item = job.inboxItem, let grants = job.grants else { continue }
            let remembered = Dictionary(
                uniqueKeysWithValues: grants.compactMap { grant in
                    permissions.decision(on: grant.id, in: job.repository).map { (grant.id, $0) }
                }
            )
            askPermissions(job.id, item: item, open: grants.filter { remembered[$0.id] == nil }, remembered: remembered, announce: false)
        }
    }

    // MARK: - Remembered policy

    func operate(_ request: PolicyRequest) -> PolicyBody {
        switch request.action {
        case .forget:
            let gone = permissions.forget(repository: request.repository ?? "", grant: request.grant)
            for rule in gone {
                record(.policyForgotten, plan: rule.job, ["repository": .string(rule.repository), "grant": .string(rule.grant)])
            }
            return PolicyBody(rules: gone)
        default:
            return PolicyBody(rules: permissions.list(repository: request.repository))
        }
    }

    // MARK: - Recording

    private func move(_ id: String, to state: JobState, _ reason: String, _ evidence: [String: JSONValue] = [:]) {
        guard let transition = jobs.move(id, to: state, reason: reason, evidence: evidence, at: wallClockMilliseconds()) else { return }
        var data: [String: JSONValue] = ["to": .string(state.rawValue), "reason": .string(reason)]
        if let from = transition.from { data["from"] = .string(from.rawValue) }
        if !evidence.isEmpty { data["evidence"] = .object(evidence) }
        record(.jobTransition, plan: id, data)
    }

    private func fail(_ id: String, _ reason: String, _ evidence: [String: JSONValue] = [:]) {
        move(id, to: .failed, reason, evidence)
    }

    private func artifact(_ id: String, _ step: JobStep, _ data: [String: JSONValue]) {
        record(.jobArtifact, plan: id, data.merging(["step": .string(step.rawValue)]) { $1 })
    }
}
