import DroverProtocol

/// Reads a ``ReviewInput`` and says how the work goes: progress, velocity, ETA, bottlenecks, risks, next steps.
///
/// Pure and deterministic, so its figures can be checked by hand. The parts live in extensions by topic:
/// `Reviewer+Estimate` (ETA and critical path), `Reviewer+Findings` (bottlenecks and risks) and
/// `Reviewer+NextSteps`.
struct Reviewer {
    let input: ReviewInput
    let byKey: [String: ReviewInput.Item]
    /// For each TODO, the TODOs that depend on it directly.
    let dependents: [String: [String]]
    /// TODOs with an inbox item open.
    let asking: Set<String>

    init(_ input: ReviewInput) {
        self.input = input
        var byKey: [String: ReviewInput.Item] = [:]
        var dependents: [String: [String]] = [:]
        for item in input.items {
            byKey[item.key] = item
            for dependency in item.dependsOn { dependents[dependency, default: []].append(item.key) }
        }
        self.byKey = byKey
        self.dependents = dependents
        self.asking = Set(input.inbox.map { "\($0.plan)/\($0.todo)" })
    }

    func review() -> ReviewBody {
        let estimate = self.estimate()
        let bottlenecks = self.bottlenecks(estimate.eta)
        let risks = self.risks()
        var body = ReviewBody(
            generatedAt: input.now,
            progress: progress(input.items),
            plans: input.plans.map { plan in
                let items = input.items.filter { $0.plan == plan.id }
                var planProgress = ReviewBody.PlanProgress(
                    plan: plan.id,
                    title: plan.title,
                    state: plan.paused ? "paused" : plan.state.rawValue,
                    progress: progress(items)
                )
                let tokens = items.map(\.facts.tokens).reduce(0, +)
                let costs = items.compactMap(\.facts.costUSD)
                planProgress.tokens = tokens > 0 ? tokens : nil
                planProgress.costUSD = costs.isEmpty ? nil : costs.reduce(0, +)
                return planProgress
            },
            branches: input.items.map(branch),
            velocity: velocity(),
            eta: estimate.eta,
            etaNote: estimate.note,
            bottlenecks: bottlenecks,
            risks: risks,
            nextSteps: nextSteps(eta: estimate.eta, bottlenecks: bottlenecks, risks: risks)
        )
        if !input.jobs.isEmpty {
            body.jobs = input.jobs.map { PlanSpend(plan: $0.id, tokens: $0.tokens ?? 0, costUSD: $0.costUSD) }
        }
        return body
    }

    func progress(_ items: [ReviewInput.Item]) -> ReviewBody.Progress {
        var progress = ReviewBody.Progress(total: items.count)
        for item in items {
            switch item.state {
            case .done: progress.done += 1
            case .running, .assigned: progress.running += 1
            case .pending, .ready, .waiting, .paused: progress.queued += 1
            case .failed, .escalated, .cancelled, .skipped: progress.stopped += 1
            }
            if asking.contains(item.key) { progress.waitingOnHuman += 1 }
        }
        return progress
    }

    private func branch(_ item: ReviewInput.Item) -> ReviewBody.BranchProgress {
        let seconds: Double? =
            if item.state == .running, let started = item.facts.startedAt {
                Double(input.now - started) / 1000
            } else {
                item.facts.durationMs.map { Double($0) / 1000 }
            }
        return ReviewBody.BranchProgress(
            todo: item.key,
            branch: item.branch,
            state: item.state,
            files: item.facts.files.count,
            seconds: seconds
        )
    }

    /// TODOs done in the last hour, or since the first one started when that is less than an hour ago.
    private func velocity() -> ReviewBody.Velocity {
        let hour: Int64 = 3_600_000
        let firstStart = input.items.compactMap(\.facts.startedAt).min()
        let window = firstStart.map { min(hour, max(1, input.now - $0)) } ?? hour
        let finished = input.items.filter { item in
            item.state == .done && (item.facts.finishedAt.map { $0 >= input.now - window } ?? false)
        }.count
        let seconds = Double(window) / 1000
        return ReviewBody.Velocity(finished: finished, windowSeconds: seconds, perHour: Double(finished) * 3600 / seconds)
    }

    /// Every TODO that cannot start before `key` is done, however indirectly.
    func downstream(of key: String) -> Set<String> {
        var seen = Set<String>()
        var stack = dependents[key] ?? []
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            stack.append(contentsOf: dependents[next] ?? [])
        }
        return seen
    }
}
