import DroverProtocol

/// Live spend: a codex session sends its tokens so far after each turn (agent event `usage`); what they grew by is
/// added to the TODO's tokens, usage and cost at once, so status, review, the dashboard and the metrics show what is
/// being spent while it is, and the cost caps act before the session ends. The run's report then adds only the rest
/// (``TodoTable/takeLive(_:lease:)``).
extension CoordinatorCore {
    /// Counts a `usage` event of the session under `lease`; `data` (the `agent.usage` event's) gets what it added.
    func countLive(_ usage: TokenUsage, model: String?, key: TodoKey, lease: String, into data: inout [String: JSONValue]) {
        var dollars: Double?
        guard
            let added = todos.countLive(
                key,
                lease: lease,
                usage: usage,
                cost: { added in
                    dollars = configuration.prices.cost(added, model: model)
                    return dollars
                }
            )
        else { return }
        data["input"] = .int(usage.input)
        data["cached_input"] = .int(usage.cachedInput)
        data["output"] = .int(usage.output)
        if let model { data["model"] = .string(model) }
        // What this event added: the metrics count it (a report counts only what is beyond).
        data["tokens"] = .int(added.total)
        if let dollars { data["cost_usd"] = .double(dollars) }
        guard dollars != nil else { return }
        checkCostCap(key.plan)
        checkTodoCostCap(key, model: model)
    }
}
