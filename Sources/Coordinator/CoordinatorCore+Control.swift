import Foundation
import Shared

/// The control socket: operators asking for status and submitting plans.
extension CoordinatorCore {
    /// Requests come from DEALER (`[id][header][body]`) or REQ (`[id][empty][header][body]`) sockets; the reply
    /// goes back with the same envelope.
    func receiveControl(_ frames: [Data], now: Int64) {
        guard frames.count >= 3 else {
            refuse(
                Socket.control,
                frames[0],
                ProtocolError(.badFrames, "expected [header][body] after the routing id, got \(frames.count - 1) frames")
            )
            return
        }
        let envelope = Array(frames[..<(frames.count - 2)])
        guard envelope.count <= 2, envelope.count == 1 || envelope[1].isEmpty else {
            refuse(
                Socket.control,
                envelope,
                ProtocolError(.badFrames, "expected [header][body], with an empty delimiter frame from REQ sockets")
            )
            return
        }
        var ref: String?
        do throws(ProtocolError) {
            let header = try codec.header(from: frames[frames.count - 2])
            ref = header.id
            let body = frames[frames.count - 1]
            switch header.type {
            case .status:
                _ = try codec.body(EmptyBody.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .status, status(now: now))
            case .submit:
                let submitted = try codec.body(SubmitBody.self, from: body, ref: header.id)
                let json = String(decoding: body, as: UTF8.self)
                reply(Socket.control, to: envelope, .submit, try submit(submitted.plan, submitJSON: json, now: now))
            case .events:
                let request = try codec.body(EventsRequest.self, from: body, ref: header.id)
                // Uncommitted events of this batch are not in the store yet; the observer asks again for them.
                let events = (try? store.events(after: request.after, limit: request.limit)) ?? []
                reply(Socket.control, to: envelope, .events, EventsBody(events: events, lastSeq: lastSeq))
            case .plan:
                let request = try codec.body(PlanRequest.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .plan, try operate(request, now: now))
            case .todo:
                let request = try codec.body(TodoRequest.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .todo, try operate(request, now: now))
            case .inbox:
                _ = try codec.body(EmptyBody.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .inbox, InboxBody(items: inbox.values.map(\.item).sorted { $0.askedAt < $1.askedAt }))
            case .answer:
                let answer = try codec.body(AnswerBody.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .answer, try self.answer(answer))
            case .review:
                let request = try codec.body(ReviewRequest.self, from: body, ref: header.id)
                reply(Socket.control, to: envelope, .review, try review(request))
            default:
                throw ProtocolError(
                    .unknownType,
                    "'\(header.type.rawValue)' is not a control request (status, submit, inbox, answer, events, todo, plan, review)",
                    ref: header.id
                )
            }
        } catch {
            var error = error
            error.ref = error.ref ?? ref  // every refusal names the request it answers
            refuse(Socket.control, envelope, error)
        }
    }

    func status(now: Int64) -> StatusBody {
        let planStatuses = plans.values.sorted { $0.order < $1.order }.map(planStatus)
        var todoStatuses: [StatusBody.TodoStatus] = []
        for record in plans.values.sorted(by: { $0.order < $1.order }) {
            for spec in record.plan.todos {
                guard let todo = todos[TodoKey(plan: record.plan.id, todo: spec.id)] else { continue }
                todoStatuses.append(
                    StatusBody.TodoStatus(
                        plan: record.plan.id,
                        id: spec.id,
                        title: spec.title,
                        state: todo.state,
                        epoch: todo.epoch,
                        worker: todo.worker,
                        attempts: todo.attempts,
                        detail: todo.detail,
                        dependsOn: spec.dependsOn.isEmpty ? nil : spec.dependsOn
                    )
                )
            }
        }
        let workerStatuses = workers.values.sorted { $0.id < $1.id }.map { worker in
            StatusBody.WorkerStatus(
                id: worker.id,
                host: worker.host,
                slots: worker.slots,
                labels: worker.labels.sorted(),
                running: worker.leases.sorted(),
                draining: worker.draining,
                lastSeenMsAgo: now - worker.lastSeen
            )
        }
        var counters = self.counters
        counters["received"] = receivedMessages
        return StatusBody(
            instance: instance,
            seq: lastSeq,
            plans: planStatuses,
            todos: todoStatuses,
            workers: workerStatuses,
            counters: counters
        )
    }
}
