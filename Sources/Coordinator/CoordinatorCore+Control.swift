import DroverProtocol
import Foundation

/// The control socket: operators asking for status and submitting plans.
extension CoordinatorCore {
    /// Requests come from DEALER (`[id][header][body]`) or REQ (`[id][empty][header][body]`) sockets; the reply
    /// goes back with the same envelope.
    /// - Parameter role: the role of the sender's key, on a keyed socket; nil when the socket has no keys.
    func receiveControl(_ frames: [Data], role: Role? = nil, now: Int64) {
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
                _ = try decode(EmptyBody.self, body, header, role: role)
                reply(Socket.control, to: envelope, .status, status(now: now))
            case .submit:
                let submitted = try decode(SubmitBody.self, body, header, role: role)
                let json = String(decoding: body, as: UTF8.self)
                reply(Socket.control, to: envelope, .submit, try submit(submitted.plan, submitJSON: json, now: now))
            case .events:
                let request = try decode(EventsRequest.self, body, header, role: role)
                // Uncommitted events of this batch are not in the store yet; the observer asks again for them.
                let events = (try? store.events(after: request.after, limit: request.limit)) ?? []
                reply(Socket.control, to: envelope, .events, EventsBody(events: events, lastSeq: lastSeq))
            case .plan:
                let request = try decode(PlanRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .plan, try operate(request, now: now))
            case .todo:
                let request = try decode(TodoRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .todo, try operate(request, now: now))
            case .inbox:
                _ = try decode(EmptyBody.self, body, header, role: role)
                reply(Socket.control, to: envelope, .inbox, InboxBody(items: inbox.items))
            case .answer:
                let answer = try decode(AnswerBody.self, body, header, role: role)
                reply(Socket.control, to: envelope, .answer, try self.answer(answer, now: now))
            case .review:
                let request = try decode(ReviewRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .review, try review(request))
            case .job:
                let request = try decode(JobRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .job, try operate(request, now: now))
            case .policy:
                let request = try decode(PolicyRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .policy, operate(request))
            case .rollback:
                let request = try decode(RollbackRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .rollback, try operate(request))
            case .planReport:
                let request = try decode(ReportRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .planReport, try planReport(request, now: now))
            case .merge:
                let request = try decode(MergeRequest.self, body, header, role: role)
                reply(Socket.control, to: envelope, .merge, try operate(request, now: now))
            default:
                throw ProtocolError(
                    .unknownType,
                    "'\(header.type.rawValue)' is not a control request (status, submit, inbox, answer, events, todo, plan, review, job, policy, merge, plan_report, rollback)",
                    ref: header.id
                )
            }
        } catch {
            var error = error
            error.ref = error.ref ?? ref  // every refusal names the request it answers
            refuse(Socket.control, envelope, error)
        }
    }

    /// Decodes a control request and checks that the sender's role may make it (``ControlAccess``).
    private func decode<Body: WireBody>(_ type: Body.Type, _ body: Data, _ header: Header, role: Role?) throws(ProtocolError) -> Body {
        let request = try codec.body(type, from: body, ref: header.id)
        if let role {
            let needed = ControlAccess.roleNeeded(header.type, request)
            if needed == .operator, !role.mayOperate {
                count("forbidden.\(header.type.rawValue)")
                throw ProtocolError(
                    .forbidden,
                    "'\(header.type.rawValue)' changes things, which needs an operator's key; this key's role is \(role)",
                    ref: header.id
                )
            }
        }
        return request
    }

    func status(now: Int64) -> StatusBody {
        let plans = todos.plans.values.sorted { $0.order < $1.order }
        let todoStatuses = plans.flatMap { record in
            record.plan.todos.compactMap { status(of: TodoKey(plan: record.plan.id, todo: $0.id)) }
        }
        let workerStatuses = workers.all.sorted { $0.id < $1.id }.map { worker in
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
            plans: plans.map(planStatus),
            todos: todoStatuses,
            workers: workerStatuses,
            counters: counters
        )
    }
}
