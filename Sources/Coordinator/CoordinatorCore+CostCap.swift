import DroverProtocol
import Foundation

/// Spend caps: a plan that has spent its cap (`--plan-cost-cap`, in dollars by the `--price` table) is paused (its
/// running TODOs go on, no new one starts) and the operators are asked, in the inbox, to raise the cap or stop the
/// plan. Events `plan.cost_cap_reached` and `plan.cost_cap_raised`.
extension CoordinatorCore {
    static func costCapItemID(_ plan: String) -> String { "\(plan)-cost" }

    /// After its spend grew: the plan is paused and the operators asked once it reaches its cap. `announce` is false
    /// when a restart puts the question back.
    func checkCostCap(_ plan: String, announce: Bool = true) {
        guard let configured = configuration.planCostCap, let planRecord = todos.plans[plan], planRecord.state == .running,
            inbox[Self.costCapItemID(plan)] == nil
        else { return }
        let cap = planRecord.costCap ?? configured
        let spent = planStatus(planRecord).costUSD ?? 0
        guard spent >= cap else { return }
        if todos.setPaused(plan, true) != nil { record(.planPaused, plan: plan, ["reason": .string("its cost cap is reached")]) }
        let text =
            String(
                format: "Plan %@ has spent $%.2f, reaching its cost cap of $%.2f: its running TODOs go on, no new one starts. ",
                plan,
                spent,
                cap
            )
            + "Answer with a new cap in dollars to raise it and go on (`drover answer \(Self.costCapItemID(plan)) 20`), or deny it to "
            + "stop the plan (`drover deny \(Self.costCapItemID(plan))`)."
        let item = InboxItem(
            id: Self.costCapItemID(plan),
            plan: plan,
            todo: "",
            worker: "",
            kind: .budget,
            text: text,
            askedAt: wallClockMilliseconds()
        )
        guard inbox.add(Inbox.Waiting(item: item, destination: .costCap(plan), deadline: nil)), announce else { return }
        record(.planCostCapReached, plan: plan, ["spent": .double(spent), "cap": .double(cap)])
        record(.inboxAdded, plan: plan, ["item": .string(item.id), "kind": .string(AskKind.budget.rawValue), "text": .string(text)])
    }

    /// After a restart: a plan waiting paused at its cap is asked about again (the inbox is not stored; its raised
    /// cap is, with the plan).
    func restorePlanCostCaps() {
        for (id, record) in todos.plans where record.paused { checkCostCap(id, announce: false) }
    }

    /// An operator's answer: a new cap above what was spent goes on; a deny stops the plan.
    func answerCostCap(_ body: AnswerBody, plan: String, now: Int64) throws(ProtocolError) {
        guard let planRecord = todos.plans[plan] else { throw ProtocolError(.rejected, "no plan \(plan) any more") }
        let spent = planStatus(planRecord).costUSD ?? 0
        switch body.decision {
        case .deny:
            _ = inbox.take(body.item)
            record(.inboxAnswered, plan: plan, ["item": .string(body.item), "decision": .string("deny")])
            _ = try operate(PlanRequest(plan: plan, action: .cancel), now: now)
        default:
            let (cap, text) = try Self.raisedCap(body, spent: spent)
            _ = inbox.take(body.item)
            todos.raiseCostCap(ofPlan: plan, to: cap)
            record(
                .inboxAnswered,
                plan: plan,
                ["item": .string(body.item), "decision": .string(body.decision.rawValue), "text": .string(text)]
            )
            record(.planCostCapRaised, plan: plan, ["cap": .double(cap), "spent": .double(spent)])
            if todos.setPaused(plan, false) != nil {
                record(.planResumed, plan: plan)
                schedule(now: now)
            }
        }
    }

    /// The new cap an answer to a cost-cap item gives (`10`, `$10`), with its text: a number of dollars above what was
    /// spent. One rule for a plan's cap and a TODO's.
    /// - Throws: `bad_field` saying what an answer must be, with a cap to suggest.
    static func raisedCap(_ body: AnswerBody, spent: Double) throws(ProtocolError) -> (cap: Double, text: String) {
        let text = (body.text ?? "").trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "$", with: "")
        guard let cap = Double(text), cap.isFinite, cap > spent else {
            throw ProtocolError(
                .badField,
                String(
                    format: "answer %@ with a new cap in dollars above the $%.2f spent, e.g. `drover answer %@ %@`",
                    body.item,
                    spent,
                    body.item,
                    suggestedCap(spent)
                )
            )
        }
        return (cap, text)
    }
}
