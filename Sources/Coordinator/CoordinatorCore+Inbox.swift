import Foundation
import Shared

/// The inbox: what sessions on any worker wait for a human to decide, and the answers going back to them.
extension CoordinatorCore {
    /// An inbox item and where its answer goes.
    struct Waiting {
        var item: InboxItem
        var leaseID: String
        /// The worker's own name for the item.
        var workerItem: String
        /// Monotonic milliseconds after which the policy default answers it.
        var deadline: Int64?
    }

    func ask(_ body: AskBody, from worker: String, ref: String, now: Int64) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        let id = "\(worker)-\(body.item)"
        if body.kind == .recovery {
            // The old form of `recover`: decided by the same policy, answered the old way.
            let verdict = decideRecovery(
                RecoverBody(
                    leaseId: body.leaseId,
                    epoch: body.epoch,
                    item: body.item,
                    detection: body.detection ?? Detection(rawValue: "unknown"),
                    proposal: body.proposal ?? "",
                    evidence: body.text
                ),
                id: id,
                key: key,
                worker: worker
            )
            send(
                CoordinatorCore.Socket.work,
                to: worker,
                .control,
                ControlBody(
                    action: .answer,
                    leaseId: body.leaseId,
                    reason: "the supervisor policy decided",
                    item: body.item,
                    decision: verdict.decision == .recover ? .approve : .deny,
                    text: verdict.reason
                )
            )
            send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
            return
        }
        if inbox[id] == nil {
            let item = InboxItem(
                id: id,
                plan: key.plan,
                todo: key.todo,
                worker: worker,
                kind: body.kind,
                text: body.text,
                askedAt: wallClockMilliseconds()
            )
            inbox[id] = Waiting(
                item: item,
                leaseID: body.leaseId,
                workerItem: body.item,
                deadline: configuration.inboxTimeout.map { now + $0.milliseconds }
            )
            record(
                .inboxAdded,
                plan: key.plan,
                todo: key.todo,
                worker: worker,
                ["item": .string(id), "kind": .string(body.kind.rawValue), "text": .string(body.text)]
            )
        }
        send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
    }

    /// An operator's answer: passed to the session that asked, if it still holds its lease.
    func answer(_ body: AnswerBody) throws(ProtocolError) -> AnswerBody {
        guard let waiting = inbox[body.item] else {
            throw ProtocolError(.rejected, "no inbox item \(body.item): it was answered already, or its TODO moved on (see `drover inbox`)")
        }
        try deliver(body, to: waiting, event: .inboxAnswered, [:])
        return body
    }

    /// Answers the items nobody answered in time with the policy default (``CoordinatorConfiguration/inboxDefault``).
    func expireInboxItems(now: Int64) {
        for (id, waiting) in inbox {
            guard let deadline = waiting.deadline, now >= deadline else { continue }
            let policy = configuration.inboxDefault
            let answer =
                waiting.item.kind == .approval
                ? AnswerBody(item: id, decision: policy.approval, text: nil)
                : AnswerBody(item: id, decision: .reply, text: policy.reply)
            let timeout = configuration.inboxTimeout.map { "\(Int64($0.milliseconds / 1000)) s" } ?? "its timeout"
            // The session may be gone already; then there is nothing to answer, and the item just leaves the inbox.
            try? deliver(
                answer,
                to: waiting,
                event: .inboxExpired,
                ["reason": .string("nobody answered within \(timeout): the policy default answers it")]
            )
            inbox[id] = nil
        }
    }

    /// Sends an answer to the session that asked and records it as `event`.
    private func deliver(_ body: AnswerBody, to waiting: Waiting, event: EventType, _ extra: [String: JSONValue]) throws(ProtocolError) {
        inbox[body.item] = nil
        let item = waiting.item
        guard let key = leases[waiting.leaseID], todos[key]?.worker == item.worker else {
            throw ProtocolError(.rejected, "the session that asked \(body.item) is gone (its lease ended)")
        }
        send(
            CoordinatorCore.Socket.work,
            to: item.worker,
            .control,
            ControlBody(
                action: .answer,
                leaseId: waiting.leaseID,
                reason: "an operator answered",
                item: waiting.workerItem,
                decision: body.decision,
                text: body.text
            )
        )
        var data = extra.merging(["item": .string(body.item), "decision": .string(body.decision.rawValue)]) { $1 }
        if let text = body.text { data["text"] = .string(text) }
        record(event, plan: key.plan, todo: key.todo, worker: item.worker, data)
    }

    /// A `recover` request: the supervisor policy decides, and the decision goes back as `recovery`.
    func recover(_ body: RecoverBody, from worker: String, ref: String) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        let verdict = decideRecovery(body, id: "\(worker)-\(body.item)", key: key, worker: worker)
        send(
            CoordinatorCore.Socket.work,
            to: worker,
            .recovery,
            RecoveryBody(
                ref: ref,
                leaseId: body.leaseId,
                item: body.item,
                detection: body.detection,
                decision: verdict.decision,
                reason: verdict.reason,
                count: verdict.count,
                limit: verdict.limit
            )
        )
    }

    /// Asks ``RecoveryPolicy`` about one request, counting the recovery against the TODO when it is granted. A
    /// resent request (same worker and item) gets the same decision and is counted once.
    func decideRecovery(_ body: RecoverBody, id: String, key: TodoKey, worker: String) -> RecoveryPolicy.Verdict {
        if let earlier = recoveryDecisions[id] { return earlier }
        let used = todos[key]?.recoveries[body.detection.rawValue] ?? 0
        let verdict = configuration.recoveryPolicy.decide(body.detection, used: used)
        if verdict.decision == .recover {
            todos[key]?.recoveries[body.detection.rawValue] = verdict.count
            touch(key)
        }
        recoveryDecisions[id] = verdict
        record(
            .policyDecided,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            [
                "detection": .string(body.detection.rawValue), "decision": .string(verdict.decision.rawValue),
                "action": .string(body.proposal), "count": .int(Int64(verdict.count)), "limit": .int(Int64(verdict.limit)),
                "evidence": .string(String(body.evidence.prefix(2000))),
            ]
        )
        return verdict
    }

    /// Items whose lease has ended can no longer be answered.
    func dropInboxItems(of leaseID: String) {
        for (id, waiting) in inbox where waiting.leaseID == leaseID {
            inbox[id] = nil
            record(.inboxDropped, plan: waiting.item.plan, todo: waiting.item.todo, worker: waiting.item.worker, ["item": .string(id)])
        }
    }
}
