import DequeModule
import Shared

/// Plans coming in, TODOs becoming ready, work going out, and plans finishing.
extension CoordinatorCore {
    /// Adds a validated plan. An identical plan with the same id is accepted again (a retried submit).
    /// - Parameter submitJSON: the `submit` body as it arrived, which the store keeps as the plan's record.
    func submit(_ plan: Plan, submitJSON: String, now: Int64) throws(ProtocolError) -> SubmittedBody {
        if let existing = plans[plan.id] {
            guard existing.plan == plan else {
                throw ProtocolError(.rejected, "a different plan with id \"\(plan.id)\" is already here: give the new plan another id")
            }
            return SubmittedBody(plan: plan.id, created: false)
        }
        let planRecord = PlanRecord(
            plan: plan,
            state: .running,
            order: plans.count,
            submittedAt: wallClockMilliseconds(),
            finishedAt: nil,
            open: plan.todos.count
        )
        plans[plan.id] = planRecord
        changes.newPlans.append((planRecord, submitJSON))
        record(.planSubmitted, plan: plan.id, ["title": .string(plan.title), "todos": .int(Int64(plan.todos.count))])
        for todo in plan.todos {
            let key = TodoKey(plan: plan.id, todo: todo.id)
            todos[key] = TodoRecord(key: key, spec: todo, state: .pending, epoch: 0, leaseID: nil, worker: nil, attempts: 0, detail: nil)
        }
        link(plan)
        for todo in plan.todos {
            let key = TodoKey(plan: plan.id, todo: todo.id)
            touch(key)
            if todos[key]!.waitingOn == 0 { makeReady(key, front: false) }
        }
        schedule(now: now)
        return SubmittedBody(plan: plan.id, created: true)
    }

    /// Fills in `dependents` and `waitingOn` for a plan's TODOs from their states.
    func link(_ plan: Plan) {
        for todo in plan.todos {
            let key = TodoKey(plan: plan.id, todo: todo.id)
            var waiting = 0
            for dependency in todo.dependsOn {
                let depKey = TodoKey(plan: plan.id, todo: dependency)
                dependents[depKey, default: []].append(key)
                if todos[depKey]?.state != .done { waiting += 1 }
            }
            todos[key]?.waitingOn = waiting
        }
    }

    /// Rebuilds memory from the store after a start or restart.
    func recover(from snapshot: Store.Snapshot, now: Int64) {
        lastSeq = snapshot.lastSeq
        processedReports = snapshot.processedReports
        var recovered = 0
        for var record in snapshot.plans {
            record.open =
                record.plan.todos.filter { !(snapshot.todos[TodoKey(plan: record.plan.id, todo: $0.id)]?.state.isTerminal ?? false) }.count
            plans[record.plan.id] = record
            for todo in record.plan.todos {
                let key = TodoKey(plan: record.plan.id, todo: todo.id)
                let row = snapshot.todos[key]
                todos[key] = TodoRecord(
                    key: key,
                    spec: todo,
                    state: row?.state ?? .pending,
                    epoch: row?.epoch ?? 0,
                    leaseID: row?.leaseID,
                    worker: row?.worker,
                    attempts: row?.attempts ?? 0,
                    detail: row?.detail,
                    assignedAt: now,
                    recoveries: row?.recoveries ?? [:],
                    facts: row?.facts ?? WorkFacts()
                )
            }
            link(record.plan)
            for todo in record.plan.todos {
                let key = TodoKey(plan: record.plan.id, todo: todo.id)
                let state = todos[key]!.state
                if state == .ready || (state == .pending && todos[key]!.waitingOn == 0) {
                    makeReady(key, front: false)
                } else if state.holdsLease, let leaseID = todos[key]!.leaseID {
                    // Its worker may still be at it: give it one TTL to register again and claim the lease.
                    leases[leaseID] = key
                    orphanLeases[leaseID] = now + ttlMs
                    recovered += 1
                }
            }
        }
        record(.coordinatorStarted, ["instance": .string(instance), "leases_awaiting_workers": .int(Int64(recovered))])
        // A plan whose last TODO ended just before a crash is finished now.
        for id in plans.keys { finishPlanIfDone(id) }
    }

    func makeReady(_ key: TodoKey, front: Bool, detail: String? = nil) {
        guard let state = todos[key]?.state, !state.isTerminal else { return }
        todos[key]!.state = .ready
        todos[key]!.readyAt = wallClockMilliseconds()
        if let detail { todos[key]!.detail = detail }
        touch(key)
        if front { ready.prepend(key) } else { ready.append(key) }
        if state != .ready && !front { record(.todoReady, plan: key.plan, todo: key.todo) }
    }

    /// Hands ready TODOs to workers with a free slot and every label the TODO needs, most free slots first.
    func schedule(now: Int64) {
        guard !ready.isEmpty else { return }
        var candidates = workers.values.filter { $0.freeSlots > 0 && $0.restUntil <= now }.map(\.id)
        var free = candidates.reduce(0) { $0 + workers[$1]!.freeSlots }
        guard free > 0 else { return }
        // TODOs no worker can take now keep their place at the front of the queue.
        var waiting: [TodoKey] = []
        while free > 0, let key = ready.popFirst() {
            guard let todo = todos[key], todo.state == .ready else { continue }
            if plans[key.plan]?.paused == true {
                waiting.append(key)
                continue
            }
            var best: String?
            var bestFree = 0
            for id in candidates {
                let worker = workers[id]!
                if worker.freeSlots > bestFree && (todo.spec.labels.isEmpty || worker.labels.isSuperset(of: todo.spec.labels))
                    && (worker.rejected[key] ?? 0) <= now
                {
                    best = id
                    bestFree = worker.freeSlots
                }
            }
            guard let best else {
                waiting.append(key)
                continue
            }
            assign(key, to: best, now: now)
            free -= 1
            if workers[best]!.freeSlots == 0 { candidates.removeAll { $0 == best } }
        }
        ready.prepend(contentsOf: waiting)
    }

    /// Gives a TODO to a worker under a new lease; the epoch is stored with this batch, before the assign goes out.
    func assign(_ key: TodoKey, to worker: String, now: Int64) {
        var todo = todos[key]!
        todo.epoch += 1
        let leaseID = "\(key.plan)/\(key.todo)@\(todo.epoch)"
        todo.leaseID = leaseID
        todo.worker = worker
        todo.state = .assigned
        todo.assignedAt = now
        if let readyAt = todo.readyAt { metrics.assigned(after: .milliseconds(max(0, wallClockMilliseconds() - readyAt))) }
        todo.readyAt = nil
        todos[key] = todo
        leases[leaseID] = key
        workers[worker]!.leases.insert(leaseID)
        touch(key)
        let lease = LeaseRef(leaseId: leaseID, plan: key.plan, todo: key.todo, epoch: todo.epoch)
        let task = TaskSpec(
            title: todo.spec.title,
            command: todo.spec.command,
            prompt: todo.spec.prompt,
            timeoutSeconds: todo.spec.timeoutSeconds,
            checks: todo.spec.checks,
            budget: todo.spec.budget,
            risk: todo.spec.risk,
            permissions: todo.spec.permissions,
            repository: plans[key.plan]?.plan.repository,
            branch: plans[key.plan]?.plan.branch(of: key.todo)
        )
        send(CoordinatorCore.Socket.work, to: worker, .assign, AssignBody(lease: lease, ttlMs: ttlMs, task: task))
        record(.todoAssigned, plan: key.plan, todo: key.todo, worker: worker, ["epoch": .int(todo.epoch), "lease": .string(leaseID)])
    }

    /// A TODO reached a terminal state: release its dependents, or skip them if it did not succeed; maybe end the plan.
    func finished(_ key: TodoKey) {
        let succeeded = todos[key]?.state == .done
        todos[key]?.facts.finishedAt = wallClockMilliseconds()
        plans[key.plan]?.open -= 1
        var stack = dependents[key] ?? []
        while let dependent = stack.popLast() {
            guard let todo = todos[dependent], !todo.state.isTerminal else { continue }
            if succeeded {
                todos[dependent]!.waitingOn -= 1
                if todos[dependent]!.waitingOn == 0 { makeReady(dependent, front: false) }
            } else {
                todos[dependent]!.state = .skipped
                todos[dependent]!.detail = "not run: \(key.todo) did not succeed"
                touch(dependent)
                plans[dependent.plan]?.open -= 1
                record(.todoSkipped, plan: dependent.plan, todo: dependent.todo, ["because": .string(key.todo)])
                stack.append(contentsOf: dependents[dependent] ?? [])
            }
        }
        finishPlanIfDone(key.plan)
    }

    func finishPlanIfDone(_ planID: String) {
        guard var record = plans[planID], record.state == .running, record.open == 0 else { return }
        let counts = self.counts(of: record.plan)
        record.state = (counts["done"] ?? 0) == record.plan.todos.count ? .done : .failed
        record.finishedAt = wallClockMilliseconds()
        plans[planID] = record
        changes.planStates[planID] = record
        self.record(
            record.state == .done ? .planDone : .planFailed,
            plan: planID,
            ["counts": .object(counts.mapValues { .int(Int64($0)) })]
        )
    }

    /// TODO count by state.
    func counts(of plan: Plan) -> [String: Int] {
        var counts: [String: Int] = [:]
        for todo in plan.todos {
            counts[todos[TodoKey(plan: plan.id, todo: todo.id)]?.state.rawValue ?? "pending", default: 0] += 1
        }
        return counts
    }
}
