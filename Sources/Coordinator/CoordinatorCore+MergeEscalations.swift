import DroverProtocol
import Foundation

/// A merge that could not be done, even repaired by codex, is escalated: its plan's queue waits, and the operators
/// are asked in the inbox, with the evidence, to try it again (`approve`) or leave the TODO's work out of the
/// integration branch (`deny`, with a reason). `drover todo retry` and `drover merge retry|skip` settle it too.
extension CoordinatorCore {
    /// The inbox id of an escalated merge's item: `<plan>-merge-<todo>`, the same across restarts.
    static func mergeItemID(_ key: TodoKey) -> String { "\(key.plan)-\(key.todo)" }

    /// Puts the escalated merge `key` in the inbox; `announce` is false when a restart puts it back.
    func askAboutEscalatedMerge(_ key: TodoKey, announce: Bool = true) {
        guard let integration = merges.integration(mergedBy: key.plan), let merge = todos[key] else { return }
        let branch = todos.plans[integration.plan]?.plan.integrationBranch ?? "the integration branch"
        var text = "The merge of \(key.todo) into \(branch) could not be done: \(merge.detail ?? "its last try failed")."
        if let first = integration.repairs[key.todo] {
            text += " The first try: \(first.outcome.rawValue.replacingOccurrences(of: "_", with: " "))"
            if let conflicts = first.conflicts, !conflicts.isEmpty { text += " in \(conflicts.joined(separator: ", "))" }
            text += "."
            if let detail = first.detail, !detail.isEmpty { text += " " + String(detail.suffix(1500)) }
        }
        text += " Approve to try it again; deny, with a reason, to leave \(key.todo)'s work out of \(branch)."
        let item = InboxItem(
            id: Self.mergeItemID(key),
            plan: integration.plan,
            todo: key.todo,
            worker: merge.worker ?? "",
            kind: .merge,
            text: text,
            askedAt: merge.facts.finishedAt ?? wallClockMilliseconds()
        )
        guard inbox.add(Inbox.Waiting(item: item, destination: .merge(key), deadline: nil)), announce else { return }
        record(
            .inboxAdded,
            plan: integration.plan,
            todo: key.todo,
            ["item": .string(item.id), "kind": .string(AskKind.merge.rawValue), "text": .string(text)]
        )
    }

    /// An operator's answer to an escalated merge's item, carried out by the queue's own operations (which check
    /// it); a refused answer leaves the item waiting.
    func answerMerge(_ body: AnswerBody, waiting: Inbox.Waiting, key: TodoKey, now: Int64) throws(ProtocolError) {
        let item = waiting.item
        guard body.decision == .approve || body.decision == .deny else {
            throw ProtocolError(
                .badField,
                "\(item.id) is a merge item: approve it to try the merge again, or deny it (with a reason) to leave "
                    + "\(item.todo)'s work out of the integration branch"
            )
        }
        _ = inbox.take(item.id)
        do {
            let action: MergeRequest.Action = body.decision == .approve ? .retry : .skip
            let reason = body.text.flatMap { $0.isEmpty ? nil : $0 } ?? "denied in the inbox"
            _ = try operate(MergeRequest(plan: item.plan, todo: key.todo, action: action, reason: reason), now: now)
        } catch {
            _ = inbox.add(waiting)
            throw error
        }
        var data: [String: JSONValue] = ["item": .string(item.id), "decision": .string(body.decision.rawValue)]
        if let text = body.text { data["text"] = .string(text) }
        record(.inboxAnswered, plan: item.plan, todo: key.todo, data)
    }

    /// The merge `key` was retried or left out some other way: its item, if one waits, leaves the inbox.
    func settleMergeItem(_ key: TodoKey, because reason: String) {
        guard let waiting = inbox.take(Self.mergeItemID(key)) else { return }
        let item = waiting.item
        record(.inboxDropped, plan: item.plan, todo: item.todo, ["item": .string(item.id), "reason": .string(reason)])
    }

    /// After a restart: every escalated merge is asked about again, under the same item.
    func restoreMergeItems() {
        for integration in merges.byPlan.values.sorted(by: { $0.plan < $1.plan }) {
            guard let mergePlan = todos.plans[integration.mergePlan]?.plan else { continue }
            for todo in mergePlan.todos {
                let key = TodoKey(plan: mergePlan.id, todo: todo.id)
                if todos[key]?.state == .escalated { askAboutEscalatedMerge(key, announce: false) }
            }
        }
    }
}
