import DroverProtocol

/// Plans coming in, TODOs becoming ready, work going out, and plans finishing.
extension CoordinatorCore {
    /// Adds a validated plan. An identical plan with the same id is accepted again (a retried submit).
    /// - Parameter submitJSON: the `submit` body as it arrived, which the store keeps as the plan's record.
    func submit(_ plan: Plan, submitJSON: String, now: Int64) throws(ProtocolError) -> SubmittedBody {
        if let existing = todos.plans[plan.id] {
            guard existing.plan == plan else {
                throw ProtocolError(.rejected, "a different plan with id \"\(plan.id)\" is already here: give the new plan another id")
            }
            return SubmittedBody(plan: plan.id, created: false)
        }
        if jobs[plan.id] != nil {
            throw ProtocolError(.rejected, "\"\(plan.id)\" is a job's id: give the plan another id")
        }
        if plan.repository != nil, todos.plans[MergeQueue.mergePlanID(of: plan.id)] != nil {
            throw ProtocolError(
                .rejected,
                "a plan named \(MergeQueue.mergePlanID(of: plan.id)) is here, and this plan's merges would run under that id: give it another id"
            )
        }
        addPlan(plan, submitJSON: submitJSON)
        startIntegration(of: plan)
        schedule(now: now)
        return SubmittedBody(plan: plan.id, created: true)
    }

    /// Adds a plan's TODOs; those with nothing to wait for are ready for the next ``schedule(now:)``.
    /// - Parameters:
    ///   - following: the plan whose TODOs this plan's follow (a plan of merges).
    ///   - serial: its TODOs go out one at a time.
    func addPlan(_ plan: Plan, submitJSON: String, following: String? = nil, serial: Bool = false) {
        let readied = todos.add(plan, submitJSON: submitJSON, submittedAt: wallClockMilliseconds(), following: following, serial: serial)
        record(.planSubmitted, plan: plan.id, ["title": .string(plan.title), "todos": .int(Int64(plan.todos.count))])
        for key in readied { record(.todoReady, plan: key.plan, todo: key.todo) }
    }

    /// Rebuilds memory from the store after a start or restart; `announce` records `coordinator.started` (not when the
    /// state is opened with no coordinator, as by ``StateDirectory``).
    func recover(from snapshot: Store.Snapshot, now: Int64, announce: Bool = true) {
        lastSeq = snapshot.lastSeq
        leases = LeaseTable(processedReports: snapshot.processedReports)
        var recovered = 0
        for integration in snapshot.integrations { merges.restore(integration) }
        for record in snapshot.plans {
            let following = merges.integration(mergedBy: record.plan.id)?.plan
            for todo in todos.restore(record, rows: snapshot.todos, following: following, serial: following != nil) {
                // Its worker may still be at it: give it one TTL to register again and claim the lease.
                guard let leaseID = todo.leaseID else { continue }
                leases.adopt(leaseID, for: todo.key, until: now + ttlMs)
                recovered += 1
            }
        }
        restoreJobs(snapshot)
        restoreMergeItems()
        restoreAIReviewers()
        restoreAdvisors(snapshot)
        restoreTodoCostCaps()
        restorePlanCostCaps()
        if announce {
            record(.coordinatorStarted, ["instance": .string(instance), "leases_awaiting_workers": .int(Int64(recovered))])
        }
        // A plan whose last TODO ended just before a crash is finished now.
        for id in todos.plans.keys { finishPlanIfDone(id) }
    }

    /// Hands ready TODOs to workers with a free slot and every label the TODO needs, most free slots first. An
    /// advisor's TODO may also take the slot of a session waiting for advice (``slotsForAdvisors(now:)``).
    func schedule(now: Int64) {
        guard todos.hasReady else { return }
        var free = workers.free(now: now)
        var lent = slotsForAdvisors(now: now)
        var room = free.values.reduce(0, +)
        guard room > 0 || !lent.isEmpty else { return }
        // TODOs no worker can take now keep their place at the front of the queue.
        var heldBack: [TodoKey] = []
        while room > 0 || !lent.isEmpty, let todo = todos.popReady(heldBack: &heldBack) {
            let advisor = isAdvisor(todo.key.plan)
            if holdForOverlap(todo) || (room == 0 && !advisor) {
                heldBack.append(todo.key)
                continue
            }
            let candidates = advisor ? free.merging(lent, uniquingKeysWith: +) : free
            guard let worker = workers.best(for: todo, among: candidates, now: now) else {
                heldBack.append(todo.key)
                continue
            }
            assign(todo.key, to: worker, now: now)
            if let left = free[worker] {
                room -= 1
                free[worker] = left > 1 ? left - 1 : nil
            } else if let left = lent[worker] {
                lent[worker] = left > 1 ? left - 1 : nil
            }
        }
        todos.putBack(heldBack)
    }

    /// Gives a TODO to a worker under a new lease; the epoch is stored with this batch, before the assign goes out.
    func assign(_ key: TodoKey, to worker: String, now: Int64) {
        guard let (todo, waited) = todos.assign(key, to: worker, at: now), let leaseID = todo.leaseID else { return }
        if let waited { metrics.assigned(after: .milliseconds(waited)) }
        leases.grant(leaseID, for: key)
        workers.hold(leaseID, by: worker)
        let lease = LeaseRef(leaseId: leaseID, plan: key.plan, todo: key.todo, epoch: todo.epoch)
        let task = taskSpec(for: todo)
        send(CoordinatorCore.Socket.work, to: worker, .assign, AssignBody(lease: lease, ttlMs: ttlMs, task: task))
        record(.todoAssigned, plan: key.plan, todo: key.todo, worker: worker, ["epoch": .int(todo.epoch), "lease": .string(leaseID)])
    }

    /// What a worker is told to do for a TODO. A job's step works read-only, detached at the base, and must answer in
    /// its step's shape; other TODOs work on their own branch, given their plan's context.
    func taskSpec(for todo: TodoRecord) -> TaskSpec {
        let plan = todos.plans[todo.key.plan]?.plan
        if let integration = merges.integration(mergedBy: todo.key.plan), let task = mergeTask(for: todo, of: integration) {
            return task
        }
        if let (_, step) = jobs.step(runningAs: todo.key.plan) {
            return TaskSpec(todo.spec, repository: plan?.repository, branch: nil, base: plan?.base, output: OutputSpec(step: step.answer))
        }
        if let task = reviewTask(for: todo) { return task }
        if let task = adviceTask(for: todo) { return task }
        var task = TaskSpec(
            todo.spec,
            repository: plan?.repository,
            branch: plan?.branch(of: todo.key.todo),
            base: plan.flatMap { integrationBase(for: todo, of: $0) } ?? plan?.base,
            context: plan?.context
        )
        // Taken up again: the new session is told what the ones before did (their work is in the branch).
        if todo.epoch > 1, todo.spec.prompt != nil, let events = try? store.events(of: todo.key, limit: 300) {
            task.handover = Handover.note(of: events)
        }
        // Its codex thread stored beside the checkpoint (paused, parked, its worker lost): the new session goes on on it.
        if plan?.repository != nil, todo.spec.prompt != nil, let thread = todo.facts.thread { task.resumeThread = thread }
        // A TODO starts from its dependencies' work: their branches, merged in by the worker.
        if let plan, plan.repository != nil, !todo.spec.dependsOn.isEmpty {
            task.dependencies = todo.spec.dependsOn.map { id in
                let dependency = todos[TodoKey(plan: plan.id, todo: id)]
                return DependencyWork(
                    todo: id,
                    title: dependency?.spec.title ?? id,
                    branch: plan.branch(of: id),
                    summary: dependency?.detail.map { String($0.prefix(1000)) }
                )
            }
        }
        return task
    }

    /// Ends a TODO in a terminal state and records what that did to its dependents and its plan.
    func end(
        _ key: TodoKey,
        as state: TodoState,
        detail: String,
        durationMs: Int64? = nil,
        worker: String? = nil,
        _ data: [String: JSONValue]
    ) {
        guard let ended = todos.end(key, as: state, detail: detail, durationMs: durationMs, at: wallClockMilliseconds()) else { return }
        record(.todo(state), plan: key.plan, todo: key.todo, worker: worker, data)
        if isAdvisor(key.plan) { adviceEnded(key) }
        if isMerge(key) {
            if state == .escalated { askAboutEscalatedMerge(key) } else { settleMergeItem(key, because: "the merge is \(state.rawValue)") }
        }
        for skipped in ended.skipped { record(.todoSkipped, plan: skipped.plan, todo: skipped.todo, ["because": .string(key.todo)]) }
        for readied in ended.readied { record(.todoReady, plan: readied.plan, todo: readied.todo) }
        finishPlanIfDone(key.plan)
        // What was skipped may end another plan too: the merges that follow this one.
        for plan in Set(ended.skipped.map(\.plan)).subtracting([key.plan]).sorted() { finishPlanIfDone(plan) }
    }

    func finishPlanIfDone(_ id: String) {
        guard let plan = todos.finishPlanIfDone(id, at: wallClockMilliseconds()) else { return }
        record(
            plan.state == .done ? .planDone : .planFailed,
            plan: id,
            ["counts": .object(todos.counts(of: plan.plan).mapValues { .int(Int64($0)) })]
        )
        jobPlanEnded(plan)
        if isAIReviewer(id) { reviewerEnded(plan) }
        finalizeIfDone(id)
    }
}
