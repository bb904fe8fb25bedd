import DroverProtocol
import Foundation

/// What operators do to single TODOs and plans: look, take up again, pause, cancel (steering, and pausing one TODO,
/// are in `CoordinatorCore+Steer.swift`).
extension CoordinatorCore {
    func operate(_ request: TodoRequest, now: Int64) throws(ProtocolError) -> TodoReply {
        let key = TodoKey(plan: request.plan, todo: request.todo)
        guard let todo = todos[key] else {
            throw ProtocolError(.rejected, "no TODO \(request.plan)/\(request.todo): see `drover status --all`")
        }
        switch request.action {
        case .retry:
            guard let (revived, planResumed) = todos.revive(key, detail: "retried by an operator") else {
                throw ProtocolError(
                    .rejected,
                    "\(key) is \(todo.state.rawValue): only a failed, escalated, cancelled or skipped TODO can be retried"
                )
            }
            if isMerge(key) { settleMergeItem(key, because: "its merge was retried") }
            if planResumed {
                record(.planResumed, plan: key.plan, ["because": .string(key.todo)])
                jobPlanResumed(key.plan, because: key.todo)
            }
            record(.todoRetried, plan: key.plan, todo: key.todo, ["revived": .array(revived.map { .string($0.todo) })])
            schedule(now: now)
        case .cancel:
            try cancel(key)
        case .steer:
            try steer(key, todo, text: request.text ?? "", by: request.by ?? "an operator")
        case .pause:
            try pause(key, todo, by: request.by ?? "an operator")
        case .resume:
            try resume(key, todo, by: request.by ?? "an operator", now: now)
        default:
            break
        }
        // Events recorded by this request are committed after the reply is built; they show on the next look.
        return TodoReply(todo: status(of: todos[key] ?? todo), events: (try? store.events(of: key, limit: 50)) ?? [])
    }

    /// A running TODO is stopped by its worker, which reports `cancelled`; one not running is cancelled at once.
    private func cancel(_ key: TodoKey) throws(ProtocolError) {
        guard let todo = todos[key], !todo.state.isTerminal else {
            throw ProtocolError(.rejected, "\(key) is already \(todos[key]?.state.rawValue ?? "gone")")
        }
        if todo.state.holdsLease, let leaseID = todo.leaseID, let worker = todo.worker {
            send(Socket.work, to: worker, .control, ControlBody(action: .cancel, leaseId: leaseID, reason: "an operator cancelled it"))
            record(.todoCancelRequested, plan: key.plan, todo: key.todo, worker: worker)
        } else {
            end(key, as: .cancelled, detail: "cancelled by an operator", ["reason": "an operator cancelled it"])
        }
    }

    func operate(_ request: PlanRequest, now: Int64) throws(ProtocolError) -> StatusBody.PlanStatus {
        guard let record = todos.plans[request.plan] else {
            throw ProtocolError(.rejected, "no plan \(request.plan): see `drover status`")
        }
        switch request.action {
        case .pause, .resume:
            guard record.state == .running else { throw ProtocolError(.rejected, "plan \(request.plan) is \(record.state.rawValue)") }
            if let changed = todos.setPaused(request.plan, request.action == .pause) {
                self.record(changed.paused ? .planPaused : .planResumed, plan: request.plan)
                if !changed.paused { schedule(now: now) }
            }
        default:
            for todo in record.plan.todos {
                try? cancel(TodoKey(plan: request.plan, todo: todo.id))
            }
            self.record(.planCancelRequested, plan: request.plan)
        }
        return planStatus(todos.plans[request.plan] ?? record)
    }

    func planStatus(_ record: PlanRecord) -> StatusBody.PlanStatus {
        var tokens: Int64 = 0
        var cost: Double?
        for todo in record.plan.todos {
            guard let facts = todos[TodoKey(plan: record.plan.id, todo: todo.id)]?.facts else { continue }
            tokens += facts.tokens
            if let spent = facts.costUSD { cost = (cost ?? 0) + spent }
        }
        return StatusBody.PlanStatus(
            id: record.plan.id,
            title: record.plan.title,
            state: record.state,
            counts: todos.counts(of: record.plan),
            submittedAt: record.submittedAt,
            finishedAt: record.finishedAt,
            paused: record.paused ? true : nil,
            tokens: tokens > 0 ? tokens : nil,
            costUSD: cost
        )
    }

    func status(of key: TodoKey) -> StatusBody.TodoStatus? {
        todos[key].map(status(of:))
    }

    func status(of todo: TodoRecord) -> StatusBody.TodoStatus {
        var status = StatusBody.TodoStatus(
            plan: todo.key.plan,
            id: todo.key.todo,
            title: todo.spec.title,
            state: todo.state,
            epoch: todo.epoch,
            worker: todo.worker,
            attempts: todo.attempts,
            detail: todo.detail,
            dependsOn: todo.spec.dependsOn.isEmpty ? nil : todo.spec.dependsOn,
            resumeAt: todo.state == .waiting ? todo.facts.resumeAt : nil
        )
        status.tokens = todo.facts.tokens > 0 ? todo.facts.tokens : nil
        status.costUSD = todo.facts.costUSD
        status.costCap = costCap(of: todo)
        return status
    }
}
