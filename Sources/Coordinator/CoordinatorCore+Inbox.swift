import DroverProtocol
import Foundation

/// The inbox (what sessions wait for a human to decide, and the answers going back to them) and the supervisor
/// policy's recovery decisions.
extension CoordinatorCore {
    func ask(_ body: AskBody, from worker: String, ref: String, now: Int64) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        defer { send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId)) }
        if body.kind == .recovery {
            answerOldStyleRecovery(body, key: key, worker: worker)
            return
        }
        let id = Inbox.id(worker: worker, item: body.item)
        let item = InboxItem(
            id: id,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            kind: body.kind,
            text: body.text,
            askedAt: wallClockMilliseconds()
        )
        let added = inbox.add(
            Inbox.Waiting(
                item: item,
                leaseID: body.leaseId,
                workerItem: body.item,
                deadline: configuration.inboxTimeout.map { now + $0.milliseconds }
            )
        )
        guard added else { return }
        record(
            .inboxAdded,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            ["item": .string(id), "kind": .string(body.kind.rawValue), "text": .string(body.text)]
        )
    }

    /// An operator's answer: passed to the session that asked, if it still holds its lease.
    func answer(_ body: AnswerBody, now: Int64) throws(ProtocolError) -> AnswerBody {
        guard let waiting = inbox[body.item] else {
            throw ProtocolError(.rejected, "no inbox item \(body.item): it was answered already, or its TODO moved on (see `drover inbox`)")
        }
        if case .job(let job) = waiting.destination {
            // Checked before it leaves the inbox: a wrong answer leaves the item waiting.
            try answerPermissions(body, waiting: waiting, job: job)
            return body
        }
        if case .merge(let key) = waiting.destination {
            try answerMerge(body, waiting: waiting, key: key, now: now)
            return body
        }
        if case .advice(let id) = waiting.destination {
            try answerAdvice(body, id: id)
            return body
        }
        if case .costCap(let plan) = waiting.destination {
            try answerCostCap(body, plan: plan, now: now)
            return body
        }
        if case .todoCostCap(let key) = waiting.destination {
            try answerTodoCostCap(body, key: key, now: now)
            return body
        }
        guard body.grants == nil, body.replan == nil, body.remember == nil else {
            throw ProtocolError(
                .badField,
                "grants, replan and remember answer a job's permissions item; \(body.item) is a \(waiting.item.kind) item"
            )
        }
        _ = inbox.take(body.item)
        try deliver(body, to: waiting, event: .inboxAnswered, [:])
        return body
    }

    /// Answers the items nobody answered in time with the policy default (``CoordinatorConfiguration/inboxDefault``).
    func expireInboxItems(now: Int64) {
        for waiting in inbox.takeExpired(now: now) {
            let policy = configuration.inboxDefault
            let id = waiting.item.id
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
        }
    }

    /// Sends an answer to the session that asked and records it as `event`.
    private func deliver(_ body: AnswerBody, to waiting: Inbox.Waiting, event: EventType, _ extra: [String: JSONValue])
        throws(ProtocolError)
    {
        let item = waiting.item
        guard case .session(let leaseID, let workerItem) = waiting.destination, let key = leases[leaseID], todos[key]?.worker == item.worker
        else {
            throw ProtocolError(.rejected, "the session that asked \(body.item) is gone (its lease ended)")
        }
        send(
            CoordinatorCore.Socket.work,
            to: item.worker,
            .control,
            ControlBody(
                action: .answer,
                leaseId: leaseID,
                reason: "an operator answered",
                item: workerItem,
                decision: body.decision,
                text: body.text
            )
        )
        var data = extra.merging(["item": .string(body.item), "decision": .string(body.decision.rawValue)]) { $1 }
        if let text = body.text { data["text"] = .string(text) }
        record(event, plan: key.plan, todo: key.todo, worker: item.worker, data)
    }

    // MARK: - Recoveries

    /// A `recover` request: the supervisor policy decides, and the decision goes back as `recovery`.
    func recover(_ body: RecoverBody, from worker: String, ref: String) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        // The rules ran out: the decision waits for an advisor (a resend of the request keeps waiting).
        if awaitsAdvice(body, ref: ref) { return }
        if leases.recoveryDecision(body.item, under: body.leaseId) == nil, askAdvisor(body, key: key, worker: worker, ref: ref) {
            return
        }
        sendRecovery(decideRecovery(body, key: key, worker: worker), for: body, to: worker, ref: ref)
    }

    /// The policy's decision on a recovery request, to the worker that asked.
    func sendRecovery(_ verdict: RecoveryPolicy.Verdict, for body: RecoverBody, to worker: String, ref: String) {
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
                limit: verdict.limit,
                instruction: verdict.instruction
            )
        )
    }

    /// The old form of `recover` (an `ask` of kind `recovery`): decided by the same policy, answered the old way.
    private func answerOldStyleRecovery(_ body: AskBody, key: TodoKey, worker: String) {
        let request = RecoverBody(
            leaseId: body.leaseId,
            epoch: body.epoch,
            item: body.item,
            detection: body.detection ?? Detection(rawValue: "unknown"),
            proposal: body.proposal ?? "",
            evidence: body.text
        )
        let verdict = decideRecovery(request, key: key, worker: worker)
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
    }

    /// Asks ``RecoveryPolicy`` about one request, counting the recovery against the TODO when it is granted. A
    /// resent request (same lease and item) gets the same decision and is counted once.
    func decideRecovery(_ body: RecoverBody, key: TodoKey, worker: String) -> RecoveryPolicy.Verdict {
        if let earlier = leases.recoveryDecision(body.item, under: body.leaseId) { return earlier }
        let used = todos[key]?.recoveries[body.detection.rawValue] ?? 0
        let verdict = configuration.recoveryPolicy.decide(body.detection, used: used)
        if verdict.decision == .recover { todos.grantRecovery(key, body.detection, count: verdict.count) }
        leases.remember(verdict, for: body.item, under: body.leaseId)
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
}
