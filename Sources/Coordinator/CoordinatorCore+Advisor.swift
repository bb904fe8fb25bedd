import DroverProtocol
import Foundation

/// A session's recovery request held while an advisor works out what its TODO should do next. Stored (as JSON, in
/// `pending_advice`), so a restarted coordinator still waits for the advisor, or for the operator's answer to its
/// question, and the session's resent request keeps waiting rather than starting another advisor.
struct PendingAdvice: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case request, key, worker, ref, advisor, question, questionText = "question_text", base
    }

    var request: RecoverBody
    /// The stuck TODO.
    var key: TodoKey
    var worker: String
    /// The request's message id, which the decision names.
    var ref: String
    /// The advisor's TODO.
    var advisor: TodoKey
    /// The advisor's question, once it asked an operator.
    var question: String?
    /// The inbox item's text for that question.
    var questionText: String?
    /// Where the advisor's worktree starts (``CoordinatorCore/adviceBases``), kept for a restart.
    var base: String?
}

/// The advisor: when the recovery rules have run out for a TODO (``AdvisorPolicy``), its session's recovery request
/// waits while a read-only codex session (``AdvisorPlan``, on any worker) reads the TODO, its transcript, its work and
/// what is going wrong, and answers with ``Advice``. Its `next_instruction` goes back with the recovery into the live
/// thread; its `question_for_human` goes to the inbox, and the operator's answer goes back the same way. An advisor
/// that fails leaves the decision to the rules. Events `todo.advice_requested` and `todo.advised`.
extension CoordinatorCore {
    static func adviceID(_ leaseID: String, _ item: String) -> String { "\(leaseID)#\(item)" }

    /// The slots advisors may take beyond the free ones, by worker: one for each session there waiting for advice
    /// whose advisor is ready to go out (``TaskSpec/usesWaitingSlots``). Without them, a fleet whose every slot holds
    /// a session waiting for advice would wait for ever. Empty, and cheap, when no advisor waits for a slot.
    func slotsForAdvisors(now: Int64) -> [String: Int] {
        guard !pendingAdvice.isEmpty else { return [:] }
        var lent: [String: Int] = [:]
        var counted: Set<String> = []
        for pending in pendingAdvice.values where todos[pending.advisor]?.state == .ready {
            guard counted.insert(pending.request.leaseId).inserted, let worker = workers[pending.worker], !worker.draining,
                worker.restUntil <= now
            else { continue }
            lent[pending.worker, default: 0] += 1
        }
        return lent
    }

    /// Whether `plan` runs advisors: it gets no report, and its TODOs get no advice.
    func isAdvisor(_ plan: String) -> Bool { advisors[plan] != nil }

    /// Sends the request to an advisor when the rules have run out; returns whether it did (the decision then waits).
    func askAdvisor(_ body: RecoverBody, key: TodoKey, worker: String, ref: String) -> Bool {
        guard let todo = todos[key], let plan = todos.plans[key.plan]?.plan, !isAdvisor(key.plan), !isAIReviewer(key.plan),
            merges.integration(mergedBy: key.plan) == nil, jobs.step(runningAs: key.plan) == nil
        else { return false }
        let advised = todo.recoveries[Self.adviceCount] ?? 0
        let granted = todo.recoveries[body.detection.rawValue] ?? 0
        let advisorID = AdvisorPlan.id(of: key.plan)
        guard configuration.advisor.asks(body.detection, granted: granted, advised: advised), Identifier.problem(with: advisorID) == nil
        else { return false }
        if let other = todos.plans[advisorID], advisors[advisorID] != key.plan, other.plan.todos.count > 0 { return false }

        let events = (try? store.events(of: key, limit: 300)) ?? []
        let checkpointed = plan.repository != nil && events.contains { $0.type == .agent(.checkpoint) }
        let stuck = AdvisorPlan.Case(
            plan: key.plan,
            todo: todo.spec,
            detection: body.detection,
            evidence: body.evidence,
            recoveries: todo.recoveries,
            transcript: AdvisorPlan.transcript(events),
            branch: checkpointed ? plan.branch(of: key.todo) : nil
        )
        var number = (todos.plans[advisorID]?.plan.todos.count ?? 0) + 1
        while todos[TodoKey(plan: advisorID, todo: AdvisorPlan.todoID(number))] != nil { number += 1 }
        let advice = AdvisorPlan.todo(number, for: stuck, policy: configuration.advisor)
        if todos.plans[advisorID] == nil {
            let advisorPlan = Plan(
                id: advisorID,
                title: "Advisors of plan \(key.plan)",
                repository: plan.repository,
                base: plan.base,
                todos: [advice]
            )
            advisors[advisorID] = key.plan
            addPlan(advisorPlan, submitJSON: String(decoding: codec.json(SubmitBody(plan: advisorPlan)), as: UTF8.self))
        } else {
            let codec = self.codec
            let readied = todos.append(advice, to: advisorID) { String(decoding: codec.json(SubmitBody(plan: $0)), as: UTF8.self) }
            if readied { record(.todoReady, plan: advisorID, todo: advice.id) }
        }
        let advisorKey = TodoKey(plan: advisorID, todo: advice.id)
        if let branch = stuck.branch { adviceBases[advisorKey] = branch }
        todos.grantRecovery(key, Detection(rawValue: Self.adviceCount), count: advised + 1)
        pendingAdvice[Self.adviceID(body.leaseId, body.item)] = PendingAdvice(
            request: body,
            key: key,
            worker: worker,
            ref: ref,
            advisor: advisorKey,
            base: stuck.branch
        )
        record(
            .todoAdviceRequested,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            [
                "advisor": .string(advisorKey.description), "detection": .string(body.detection.rawValue),
                "count": .int(Int64(advised + 1)), "limit": .int(Int64(configuration.advisor.limit)),
            ]
        )
        return true
    }

    /// The recoveries key counting a TODO's advice (shown with its recoveries in reports).
    static let adviceCount = "advice"

    /// What a worker is told for an advisor's TODO: read-only, detached at the stuck TODO's last checkpoint (or the
    /// plan's base), answering with advice, on the advisor's own model when one is set. Nil for any other TODO.
    func adviceTask(for todo: TodoRecord) -> TaskSpec? {
        guard isAdvisor(todo.key.plan), let plan = todos.plans[todo.key.plan]?.plan else { return nil }
        var task = TaskSpec(
            todo.spec,
            repository: plan.repository,
            branch: nil,
            base: adviceBases[todo.key] ?? plan.base,
            output: OutputSpec(step: .advise)
        )
        task.model = configuration.advisor.model
        task.modelBaseURL = configuration.advisor.modelBaseURL
        return task
    }

    /// An advisor's answer arrived with its report; it is read when its TODO has ended, in this batch.
    func keepAdvice(_ output: String, key: TodoKey) {
        guard isAdvisor(key.plan) else { return }
        adviceAnswers[key] = output
    }

    /// An advisor's TODO ended: its advice goes to the waiting session, its question to the inbox, or, with no
    /// usable advice, the rules decide.
    func adviceEnded(_ advisor: TodoKey) {
        let answer = adviceAnswers.removeValue(forKey: advisor)
        adviceBases[advisor] = nil
        guard let (id, pending) = pendingAdvice.first(where: { $0.value.advisor == advisor }) else { return }
        pendingAdvice[id] = nil
        let key = pending.key
        let live = leases[pending.request.leaseId] == key
        let read = answer.map { AnswerStep.advise.read($0) }
        guard todos[advisor]?.state == .done, case .success(.advice(let advice))? = read else {
            let why: String
            switch read {
            case .failure(let error)?: why = "its answer is not usable: \(error)"
            default: why = "\(advisor) \(todos[advisor]?.state.rawValue ?? "ended"): \(todos[advisor]?.detail ?? "no answer")"
            }
            record(.todoAdvised, plan: key.plan, todo: key.todo, ["advisor": .string(advisor.description), "failed": .string(why)])
            // The rules decide, as without an advisor.
            if live { decide(pending, decideRecovery(pending.request, key: key, worker: pending.worker), instruction: nil) }
            return
        }
        record(
            .todoAdvised,
            plan: key.plan,
            todo: key.todo,
            [
                "advisor": .string(advisor.description), "diagnosis": .string(advice.diagnosis),
                "next_instruction": .string(advice.nextInstruction), "needs_human": .bool(advice.needsHuman),
                "question_for_human": .string(advice.questionForHuman), "reason": .string(advice.reason),
            ]
        )
        guard live else { return }
        guard advice.needsHuman else {
            decide(pending, grantAdvised(pending), instruction: advice.nextInstruction)
            return
        }
        var asked = pending
        asked.question = advice.questionForHuman
        asked.questionText =
            "The advisor asks: \(advice.questionForHuman)\n\nIts diagnosis: \(advice.diagnosis)\n(\(pending.request.detection.rawValue): "
            + "\(pending.request.evidence.prefix(600)))"
        pendingAdvice[id] = asked
        let item = adviceQuestion(asked)
        guard putAdviceQuestion(item, id: id) else { return }
        record(
            .inboxAdded,
            plan: key.plan,
            todo: key.todo,
            worker: pending.worker,
            ["item": .string(item.id), "kind": .string(AskKind.question.rawValue), "text": .string(item.text)]
        )
    }

    /// An operator's answer to an advisor's question: it goes to the waiting session as its next instruction; a no
    /// escalates the TODO with the question.
    func answerAdvice(_ body: AnswerBody, id: String) throws(ProtocolError) {
        guard let pending = pendingAdvice[id], let question = pending.question else {
            throw ProtocolError(.rejected, "no session waits for \(body.item) any more (its lease ended)")
        }
        if body.decision == .reply, (body.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ProtocolError(.badField, "the answer to \(body.item) needs a text: `drover answer \(body.item) TEXT`")
        }
        _ = inbox.take(body.item)
        pendingAdvice[id] = nil
        var data: [String: JSONValue] = ["item": .string(body.item), "decision": .string(body.decision.rawValue)]
        if let text = body.text { data["text"] = .string(text) }
        record(.inboxAnswered, plan: pending.key.plan, todo: pending.key.todo, worker: pending.worker, data)
        guard leases[pending.request.leaseId] == pending.key else { return }
        if body.decision == .deny {
            let verdict = RecoveryPolicy.Verdict(
                decision: .escalate,
                count: todos[pending.key]?.recoveries[pending.request.detection.rawValue] ?? 0,
                limit: configuration.recoveryPolicy.limit(for: pending.request.detection),
                reason: "needs a human: the advisor asked \"\(question.prefix(500))\", and the operator said no"
                    + (body.text.map { ": \($0)" } ?? "")
            )
            decide(pending, verdict, instruction: nil)
            return
        }
        let text = body.text ?? "Yes, go ahead."
        decide(pending, grantAdvised(pending), instruction: "To the question \"\(question.prefix(500))\" the operator answers: \(text)")
    }

    /// A recovery with advice is granted past the rule's own limit: the advisor's limit bounds it.
    private func grantAdvised(_ pending: PendingAdvice) -> RecoveryPolicy.Verdict {
        let detection = pending.request.detection
        let count = (todos[pending.key]?.recoveries[detection.rawValue] ?? 0) + 1
        todos.grantRecovery(pending.key, detection, count: count)
        let verdict = RecoveryPolicy.Verdict(
            decision: .recover,
            count: count,
            limit: configuration.recoveryPolicy.limit(for: detection),
            reason: nil
        )
        return verdict
    }

    /// Sends the decision the session waited for; a resend of its request gets the same one.
    private func decide(_ pending: PendingAdvice, _ verdict: RecoveryPolicy.Verdict, instruction: String?) {
        var verdict = verdict
        verdict.instruction = instruction
        leases.remember(verdict, for: pending.request.item, under: pending.request.leaseId)
        sendRecovery(verdict, for: pending.request, to: pending.worker, ref: pending.ref)
    }

    /// The lease of a session waiting for advice ended: nobody waits for the advice, nor for its question.
    func dropAdvice(of leaseID: String) {
        for (id, pending) in pendingAdvice where pending.request.leaseId == leaseID {
            pendingAdvice[id] = nil
            let item = "\(pending.advisor.plan)-\(pending.advisor.todo)"
            guard inbox.take(item) != nil else { continue }
            record(.inboxDropped, plan: pending.key.plan, todo: pending.key.todo, worker: pending.worker, ["item": .string(item)])
        }
    }

    /// The advisors after a restart: each `<plan>-help` beside its plan, and the advice under way (stored): the
    /// sessions' resent requests keep waiting for it, and an advisor's question is put back in the inbox.
    func restoreAdvisors(_ snapshot: Store.Snapshot) {
        for id in todos.plans.keys where todos.plans[AdvisorPlan.id(of: id)] != nil { advisors[AdvisorPlan.id(of: id)] = id }
        for (id, pending) in snapshot.pendingAdvice {
            pendingAdvice[id] = pending
            if let base = pending.base { adviceBases[pending.advisor] = base }
            if pending.questionText != nil { _ = putAdviceQuestion(adviceQuestion(pending), id: id) }
        }
        changedAdvice.removeAll()
    }

    /// The inbox item of an advisor's question.
    private func adviceQuestion(_ pending: PendingAdvice) -> InboxItem {
        InboxItem(
            id: "\(pending.advisor.plan)-\(pending.advisor.todo)",
            plan: pending.key.plan,
            todo: pending.key.todo,
            worker: pending.worker,
            kind: .question,
            text: pending.questionText ?? pending.question ?? "",
            askedAt: wallClockMilliseconds()
        )
    }

    private func putAdviceQuestion(_ item: InboxItem, id: String) -> Bool {
        inbox.add(Inbox.Waiting(item: item, destination: .advice(id), deadline: nil))
    }

    /// A session's recovery request while its advice is under way (a resend): the decision still waits.
    func awaitsAdvice(_ body: RecoverBody, ref: String) -> Bool {
        let id = Self.adviceID(body.leaseId, body.item)
        guard pendingAdvice[id] != nil else { return false }
        pendingAdvice[id]?.ref = ref
        return true
    }
}
