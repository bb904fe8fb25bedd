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
        if body.kind == "recovery" {
            decideRecovery(body, id: id, key: key, worker: worker)
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
                "inbox.added",
                plan: key.plan,
                todo: key.todo,
                worker: worker,
                ["item": .string(id), "kind": .string(body.kind), "text": .string(body.text)]
            )
        }
        send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
    }

    /// An operator's answer: passed to the session that asked, if it still holds its lease.
    func answer(_ body: AnswerBody) throws(ProtocolError) -> AnswerBody {
        guard let waiting = inbox[body.item] else {
            throw ProtocolError(.rejected, "no inbox item \(body.item): it was answered already, or its TODO moved on (see `drover inbox`)")
        }
        try deliver(body, to: waiting, event: "inbox.answered", [:])
        return body
    }

    /// Answers the items nobody answered in time with the policy default (``CoordinatorConfiguration/inboxDefault``).
    func expireInboxItems(now: Int64) {
        for (id, waiting) in inbox {
            guard let deadline = waiting.deadline, now >= deadline else { continue }
            let policy = configuration.inboxDefault
            let answer =
                waiting.item.kind == "approval"
                ? AnswerBody(item: id, decision: policy.approval, text: nil)
                : AnswerBody(item: id, decision: "reply", text: policy.reply)
            let timeout = configuration.inboxTimeout.map { "\(Int64($0.milliseconds / 1000)) s" } ?? "its timeout"
            // The session may be gone already; then there is nothing to answer, and the item just leaves the inbox.
            try? deliver(
                answer,
                to: waiting,
                event: "inbox.expired",
                ["reason": .string("nobody answered within \(timeout): the policy default answers it")]
            )
            inbox[id] = nil
        }
    }

    /// Sends an answer to the session that asked and records it as `event`.
    private func deliver(_ body: AnswerBody, to waiting: Waiting, event: String, _ extra: [String: JSONValue]) throws(ProtocolError) {
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
                action: "answer",
                leaseId: waiting.leaseID,
                reason: "an operator answered",
                item: waiting.workerItem,
                decision: body.decision,
                text: body.text
            )
        )
        var data = extra.merging(["item": .string(body.item), "decision": .string(body.decision)]) { $1 }
        if let text = body.text { data["text"] = .string(text) }
        record(event, plan: key.plan, todo: key.todo, worker: item.worker, data)
    }

    /// The supervisor policy: a session may recover from a kind of trouble a limited number of times per TODO,
    /// counted across all its sessions and workers (and kept in the state file); past the limit, it escalates.
    func decideRecovery(_ body: AskBody, id: String, key: TodoKey, worker: String) {
        let detection = body.detection ?? "unknown"
        let decision: (allow: Bool, text: String?)
        if let earlier = recoveryDecisions[id] {
            decision = earlier  // a resent question: the same answer, counted once
        } else {
            let limit = configuration.recoveryLimits[detection] ?? configuration.defaultRecoveryLimit
            let used = todos[key]?.recoveries[detection] ?? 0
            let allow = used < limit
            if allow {
                todos[key]?.recoveries[detection] = used + 1
                touch(key)
            }
            decision = (allow, allow ? nil : "the limit of \(limit) \(detection) recoveries for this TODO is reached")
            recoveryDecisions[id] = decision
            record(
                "policy.decided",
                plan: key.plan,
                todo: key.todo,
                worker: worker,
                [
                    "detection": .string(detection), "decision": .string(allow ? "recover" : "escalate"),
                    "action": .string(body.proposal ?? ""), "count": .int(Int64(used + (allow ? 1 : 0))), "limit": .int(Int64(limit)),
                    "evidence": .string(String(body.text.prefix(2000))),
                ]
            )
        }
        send(
            CoordinatorCore.Socket.work,
            to: worker,
            .control,
            ControlBody(
                action: "answer",
                leaseId: body.leaseId,
                reason: "the supervisor policy decided",
                item: body.item,
                decision: decision.allow ? "approve" : "deny",
                text: decision.text
            )
        )
    }

    /// Items whose lease has ended can no longer be answered.
    func dropInboxItems(of leaseID: String) {
        for (id, waiting) in inbox where waiting.leaseID == leaseID {
            inbox[id] = nil
            record("inbox.dropped", plan: waiting.item.plan, todo: waiting.item.todo, worker: waiting.item.worker, ["item": .string(id)])
        }
    }
}
