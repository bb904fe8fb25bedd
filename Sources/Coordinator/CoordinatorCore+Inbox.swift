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
    }

    func ask(_ body: AskBody, from worker: String, ref: String) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        let id = "\(worker)-\(body.item)"
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
            inbox[id] = Waiting(item: item, leaseID: body.leaseId, workerItem: body.item)
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
        var data: [String: JSONValue] = ["item": .string(body.item), "decision": .string(body.decision)]
        if let text = body.text { data["text"] = .string(text) }
        record("inbox.answered", plan: key.plan, todo: key.todo, worker: item.worker, data)
        return body
    }

    /// Items whose lease has ended can no longer be answered.
    func dropInboxItems(of leaseID: String) {
        for (id, waiting) in inbox where waiting.leaseID == leaseID {
            inbox[id] = nil
            record("inbox.dropped", plan: waiting.item.plan, todo: waiting.item.todo, worker: waiting.item.worker, ["item": .string(id)])
        }
    }
}
