import DroverProtocol

/// What an operator should do next, most useful first.
extension Reviewer {
    func nextSteps(eta: ReviewBody.Estimate?, bottlenecks: [ReviewBody.Finding], risks: [ReviewBody.Risk]) -> [ReviewBody.NextStep] {
        // Each candidate has a score; the order is by score, then as found. Scores put what unblocks the most work
        // first: a human's answer, then broken TODOs, then capacity, then hygiene.
        var candidates: [(score: Double, action: String, command: String?, reason: String)] = []
        let remaining = input.items.filter { !$0.state.isTerminal }

        if !remaining.isEmpty && input.slots == 0 {
            candidates.append((1000, "start a worker", "drover worker", "\(remaining.count) TODOs are left and no worker takes work"))
        }
        for item in input.inbox where item.kind == .permissions {
            let grants = (item.grants ?? []).map(\.id)
            candidates.append(
                (
                    600 + Double(grants.count), "decide the permissions job \(item.job ?? item.plan) asks for",
                    "drover approve \(item.id)  (or: --grant ID for some of them; drover deny \(item.id))",
                    "the job's plan waits for them: \(grants.joined(separator: ", "))"
                )
            )
        }
        for job in input.jobs where job.state == .failed && job.updatedAt > input.now - 24 * 3600 * 1000 {
            candidates.append(
                (250, "look into job \(job.id)", "drover job show \(job.id)", "it failed: \(job.reason.prefix(200))")
            )
        }
        for item in input.inbox where item.kind != .permissions {
            let key = "\(item.plan)/\(item.todo)"
            let blocked = downstream(of: key).filter { !(byKey[$0]?.state.isTerminal ?? true) }.count
            let command =
                item.kind == .approval ? "drover approve \(item.id)  (or: drover deny \(item.id))" : "drover answer \(item.id) \"…\""
            candidates.append(
                (
                    500 + Double(blocked), "answer \(item.kind) \(item.id) from \(key)", command,
                    "a session waits for it: \"\(item.text.prefix(160))\"" + (blocked > 0 ? "; \(blocked) more TODOs wait behind it" : "")
                )
            )
        }
        for finding in bottlenecks where finding.kind == "blocking" {
            guard let key = finding.todo, let item = byKey[key], item.state.isTerminal else { continue }
            candidates.append(
                (
                    300 + finding.value, "look into \(key) and retry it", "drover todo show \(key) && drover todo retry \(key)",
                    finding.reason + (item.detail.map { "; it ended with: \($0.prefix(160))" } ?? "")
                )
            )
        }
        for plan in input.plans where plan.paused {
            let left = remaining.filter { $0.plan == plan.id }.count
            candidates.append(
                (200 + Double(left), "resume plan \(plan.id)", "drover plan resume \(plan.id)", "it is paused with \(left) TODOs left")
            )
        }
        for finding in bottlenecks where finding.kind == "long_running" {
            guard let eta, finding.value > eta.sampleP90, let key = finding.todo else { continue }
            candidates.append((100 + finding.value / 60, "check on \(key)", "drover todo show \(key)", finding.reason))
        }
        let ready = input.items.filter { $0.state == .ready }.count
        if let eta, eta.bound == "capacity", ready > input.freeSlots, input.slots > 0 {
            candidates.append(
                (
                    50 + Double(ready), "add workers", "drover worker --slots N",
                    "\(ready) TODOs are ready and \(input.freeSlots) slots free: more slots would bring the ETA towards the critical path "
                        + "(\(humanDuration(seconds: eta.criticalPathSeconds)) instead of \(humanDuration(seconds: eta.p50Seconds)))"
                )
            )
        }
        for risk in risks.prefix(Self.findingsPerKind) {
            candidates.append(
                (
                    20 + Double(risk.files.count), "merge \(risk.branches[0]) before \(risk.branches[1]) and rebase the second",
                    nil, risk.reason
                )
            )
        }
        if remaining.isEmpty && !input.items.isEmpty {
            let done = input.items.filter { $0.state == .done }.count
            let branches = input.plans.compactMap { input.integrations[$0.id] }
            let action =
                branches.isEmpty
                ? "review and merge the branches"
                : "review \(branches.joined(separator: ", ")), which holds the work merged and checked, and merge it into its base"
            candidates.append((1, action, nil, "every TODO has ended (\(done) of \(input.items.count) done)"))
        }
        let ranked = candidates.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }
        return ranked.enumerated().map { rank, candidate in
            ReviewBody.NextStep(
                rank: rank + 1,
                action: candidate.element.action,
                command: candidate.element.command,
                reason: candidate.element.reason
            )
        }
    }
}
