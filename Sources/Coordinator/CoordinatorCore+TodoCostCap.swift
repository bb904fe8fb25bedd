import DroverProtocol
import Foundation

/// A TODO's cost cap (`budget: { cost: 5.00 }`, in dollars by the `--price` table): a TODO that has spent it is paused
/// as an operator's pause is (its session stops after its turn, its work checkpointed; a ready one waits at once),
/// and the operators are asked in the inbox (kind `budget`, item `<plan>-<todo>-cost`): a new cap raises it and the
/// TODO goes on, a deny escalates it. Events `todo.cost_cap_reached` and `todo.cost_cap_raised`.
extension CoordinatorCore {
    static func todoCostCapItemID(_ key: TodoKey) -> String { "\(key.plan)-\(key.todo)-cost" }

    /// The TODO's cap: as an operator raised it, else its plan's `budget.cost`; nil: none.
    func costCap(of todo: TodoRecord) -> Double? {
        todo.facts.costCap ?? todo.spec.budget?.cost
    }

    /// After its spend grew: a TODO that reached its cap is paused and the operators asked, once. A TODO that ended
    /// meanwhile has its question dropped. `announce` is false when a restart puts the question back.
    func checkTodoCostCap(_ key: TodoKey, model: String?, announce: Bool = true) {
        let id = Self.todoCostCapItemID(key)
        guard let todo = todos[key] else { return }
        if todo.state.isTerminal {
            if inbox.take(id) != nil { record(.inboxDropped, plan: key.plan, todo: key.todo, ["item": .string(id)]) }
            return
        }
        guard let cap = costCap(of: todo), let spent = todo.facts.costUSD, spent >= cap, inbox[id] == nil else { return }
        switch todo.state {
        case .running where !pausing.contains(key):
            guard (try? pause(key, todo, by: "its cost cap")) != nil else { return }
        case .ready:
            guard (try? pause(key, todo, by: "its cost cap")) != nil else { return }
        case .running, .paused, .waiting:
            break
        default:
            // Not started yet under its lease (assigned): its next `usage` event asks.
            return
        }
        let text =
            String(format: "TODO %@ has spent $%.2f, reaching its cost cap of $%.2f", key.description, spent, cap)
            + " (\(configuration.prices.describe(model))): it is paused after its turn, its work checkpointed. "
            + "Answer with a new cap in dollars to raise it and go on (`drover answer \(id) \(Self.suggestedCap(spent))`), "
            + "or deny it to stop the TODO (`drover deny \(id)`): it is escalated."
        let item = InboxItem(
            id: id,
            plan: key.plan,
            todo: key.todo,
            worker: todo.worker ?? "",
            kind: .budget,
            text: text,
            askedAt: wallClockMilliseconds()
        )
        guard inbox.add(Inbox.Waiting(item: item, destination: .todoCostCap(key), deadline: nil)) else { return }
        todos.explainPause(key, Self.capDetail(id, spent: spent, cap: cap))
        guard announce else { return }
        var data: [String: JSONValue] = ["spent": .double(spent), "cap": .double(cap)]
        if let model { data["model"] = .string(model) }
        record(.todoCostCapReached, plan: key.plan, todo: key.todo, data)
        record(
            .inboxAdded,
            plan: key.plan,
            todo: key.todo,
            ["item": .string(id), "kind": .string(AskKind.budget.rawValue), "text": .string(text)]
        )
    }

    /// An operator's answer: a new cap above what was spent resumes the TODO (at once when it is paused, else when
    /// its session has stopped); a deny escalates it, naming the cap.
    func answerTodoCostCap(_ body: AnswerBody, key: TodoKey, now: Int64) throws(ProtocolError) {
        guard let todo = todos[key], !todo.state.isTerminal else {
            _ = inbox.take(body.item)
            throw ProtocolError(.rejected, "\(key) has ended: its cost cap no longer matters")
        }
        let spent = todo.facts.costUSD ?? 0
        let cap = costCap(of: todo) ?? 0
        switch body.decision {
        case .deny:
            _ = inbox.take(body.item)
            record(.inboxAnswered, plan: key.plan, todo: key.todo, ["item": .string(body.item), "decision": .string("deny")])
            let reason = String(format: "stopped at its cost cap: $%.2f spent, the cap is $%.2f", spent, cap)
            if todo.state == .running {
                // Its session is stopping after its turn: it is escalated when it has.
                costCapDenied[key] = reason
                if !pausing.contains(key) { try? pause(key, todo, by: "its cost cap") }
            } else {
                end(key, as: .escalated, detail: reason, ["reason": .string(reason)])
            }
        default:
            let (raised, text) = try Self.raisedCap(body, spent: spent)
            _ = inbox.take(body.item)
            todos.raiseCostCap(key, to: raised)
            record(
                .inboxAnswered,
                plan: key.plan,
                todo: key.todo,
                ["item": .string(body.item), "decision": .string(body.decision.rawValue), "text": .string(text)]
            )
            record(.todoCostCapRaised, plan: key.plan, todo: key.todo, ["cap": .double(raised), "spent": .double(spent)])
            if todo.state == .paused {
                try resume(key, todo, by: "a raised cost cap", now: now)
            } else if pausing.contains(key) {
                // Its session is stopping after its turn: it goes on when it has.
                costCapResumes.insert(key)
            }
        }
    }

    /// The session of a TODO paused at its cost cap has stopped: what the operators answered meanwhile is done now.
    func afterCostCapPause(_ key: TodoKey, now: Int64) {
        if let reason = costCapDenied.removeValue(forKey: key) {
            costCapResumes.remove(key)
            end(key, as: .escalated, detail: reason, ["reason": .string(reason)])
        } else if costCapResumes.remove(key) != nil, let todo = todos[key], todo.state == .paused {
            try? resume(key, todo, by: "a raised cost cap", now: now)
        } else if let todo = todos[key], inbox[Self.todoCostCapItemID(key)] != nil, let cap = costCap(of: todo) {
            todos.explainPause(key, Self.capDetail(Self.todoCostCapItemID(key), spent: todo.facts.costUSD ?? 0, cap: cap))
        }
    }

    /// Why a TODO paused at its cap waits, and what to do.
    static func capDetail(_ item: String, spent: Double, cap: Double) -> String {
        String(format: "paused at its cost cap ($%.2f spent, the cap is $%.2f): ", spent, cap)
            + "`drover answer \(item) DOLLARS` raises it, `drover deny \(item)` stops it"
    }

    /// After a restart: a TODO waiting paused at its cap is asked about again (the inbox is not stored; its raised
    /// cap is, in its facts).
    func restoreTodoCostCaps() {
        for (key, todo) in todos.todos where todo.state == .paused { checkTodoCostCap(key, model: nil, announce: false) }
    }

    /// A cap to suggest: a round number well above what was spent.
    static func suggestedCap(_ spent: Double) -> String {
        String(format: "%.0f", (spent * 2).rounded(.up) + 1)
    }
}
