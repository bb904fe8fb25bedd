import Foundation
import Shared

/// What operators do to single TODOs: look, take up again, cancel.
extension CoordinatorCore {
    func operate(_ request: TodoRequest, now: Int64) throws(ProtocolError) -> TodoReply {
        let key = TodoKey(plan: request.plan, todo: request.todo)
        guard let todo = todos[key] else {
            throw ProtocolError(.rejected, "no TODO \(request.plan)/\(request.todo): see `drover status --all`")
        }
        switch request.action {
        case .retry:
            guard [.failed, .escalated, .cancelled, .skipped].contains(todo.state) else {
                throw ProtocolError(
                    .rejected,
                    "\(key) is \(todo.state.rawValue): only a failed, escalated, cancelled or skipped TODO can be retried"
                )
            }
            retry(key)
            schedule(now: now)
        case .cancel:
            guard !todo.state.isTerminal else {
                throw ProtocolError(.rejected, "\(key) is already \(todo.state.rawValue)")
            }
            if todo.state.holdsLease, let leaseID = todo.leaseID, let worker = todo.worker {
                // The worker stops the work and reports `cancelled`.
                send(Socket.work, to: worker, .control, ControlBody(action: .cancel, leaseId: leaseID, reason: "an operator cancelled it"))
                record(.todoCancelRequested, plan: key.plan, todo: key.todo, worker: worker)
            } else {
                todos[key]!.state = .cancelled
                todos[key]!.detail = "cancelled by an operator"
                touch(key)
                record(.todoCancelled, plan: key.plan, todo: key.todo, ["reason": "an operator cancelled it"])
                finished(key)
            }
        default:
            break
        }
        // Events recorded by this request are committed after the reply is built; they show on the next look.
        return TodoReply(todo: status(of: key), events: (try? store.events(of: key, limit: 50)) ?? [])
    }

    /// Takes a finished TODO up again, and what was skipped because of it.
    private func retry(_ key: TodoKey) {
        var revived = [key]
        var stack = dependents[key] ?? []
        while let dependent = stack.popLast() {
            guard todos[dependent]?.state == .skipped else { continue }
            revived.append(dependent)
            stack.append(contentsOf: dependents[dependent] ?? [])
        }
        for todo in revived {
            todos[todo]!.state = .pending
            todos[todo]!.attempts = 0
            todos[todo]!.recoveries = [:]
            todos[todo]!.detail = "retried by an operator"
            todos[todo]!.waitingOn = todos[todo]!.spec.dependsOn.filter { todos[TodoKey(plan: key.plan, todo: $0)]?.state != .done }.count
            touch(todo)
        }
        if var plan = plans[key.plan] {
            plan.open += revived.count
            if plan.state != .running {
                plan.state = .running
                plan.finishedAt = nil
                changes.planStates[key.plan] = plan
                record(.planResumed, plan: key.plan, ["because": .string(key.todo)])
            }
            plans[key.plan] = plan
        }
        record(.todoRetried, plan: key.plan, todo: key.todo, ["revived": .array(revived.map { .string($0.todo) })])
        for todo in revived where todos[todo]!.waitingOn == 0 { makeReady(todo, front: true) }
    }

    func operate(_ request: PlanRequest, now: Int64) throws(ProtocolError) -> StatusBody.PlanStatus {
        guard var record = plans[request.plan] else {
            throw ProtocolError(.rejected, "no plan \(request.plan): see `drover status`")
        }
        switch request.action {
        case .pause, .resume:
            guard record.state == .running else { throw ProtocolError(.rejected, "plan \(request.plan) is \(record.state.rawValue)") }
            record.paused = request.action == .pause
            plans[request.plan] = record
            changes.planStates[request.plan] = record
            self.record(record.paused ? .planPaused : .planResumed, plan: request.plan)
            if !record.paused { schedule(now: now) }
        default:
            for todo in record.plan.todos {
                let key = TodoKey(plan: request.plan, todo: todo.id)
                guard let state = todos[key]?.state, !state.isTerminal else { continue }
                _ = try? operate(TodoRequest(plan: request.plan, todo: todo.id, action: .cancel), now: now)
            }
            self.record(.planCancelRequested, plan: request.plan)
        }
        return planStatus(plans[request.plan]!)
    }

    func planStatus(_ record: PlanRecord) -> StatusBody.PlanStatus {
        StatusBody.PlanStatus(
            id: record.plan.id,
            title: record.plan.title,
            state: record.state,
            counts: counts(of: record.plan),
            submittedAt: record.submittedAt,
            finishedAt: record.finishedAt,
            paused: record.paused ? true : nil
        )
    }

    func status(of key: TodoKey) -> StatusBody.TodoStatus {
        let todo = todos[key]!
        return StatusBody.TodoStatus(
            plan: key.plan,
            id: key.todo,
            title: todo.spec.title,
            state: todo.state,
            epoch: todo.epoch,
            worker: todo.worker,
            attempts: todo.attempts,
            detail: todo.detail
        )
    }
}
