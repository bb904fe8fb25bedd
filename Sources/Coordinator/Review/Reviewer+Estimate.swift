import DroverProtocol

/// The ETA: the finished TODOs' durations, laid along what remains.
extension Reviewer {
    /// The P50 and P90 finish, or why there is none.
    func estimate() -> (eta: ReviewBody.Estimate?, note: String?) {
        let remaining = input.items.filter { !$0.state.isTerminal }
        guard !remaining.isEmpty else { return (nil, "nothing is left to do") }
        let samples = input.items.compactMap { $0.state == .done ? $0.facts.durationMs : nil }.map { Double($0) / 1000 }.sorted()
        guard !samples.isEmpty else {
            return (nil, "no TODO has finished yet, so there are no durations to estimate from")
        }
        let p50 = Self.percentile(samples, 0.5)
        let p90 = Self.percentile(samples, 0.9)
        let path50 = criticalPath(remaining, typical: p50)
        let path90 = criticalPath(remaining, typical: p90)
        let capacity50 = capacity(remaining, typical: p50)
        let capacity90 = capacity(remaining, typical: p90)
        let eta50 = max(path50.seconds, capacity50 ?? 0)
        let eta90 = max(path90.seconds, capacity90 ?? 0)
        let estimate = ReviewBody.Estimate(
            p50Seconds: eta50,
            p90Seconds: eta90,
            p50At: input.now + Int64(eta50 * 1000),
            p90At: input.now + Int64(eta90 * 1000),
            criticalPath: path50.keys,
            criticalPathSeconds: path50.seconds,
            capacitySeconds: capacity50,
            bound: (capacity50 ?? 0) > path50.seconds ? "capacity" : "critical_path",
            remaining: remaining.count,
            samples: samples.count,
            sampleP50: p50,
            sampleP90: p90,
            slots: input.slots
        )
        let note = input.slots == 0 ? "no worker is taking work: the ETA assumes one comes" : nil
        return (estimate, note)
    }

    /// The nearest-rank percentile of sorted values: the smallest value with at least `fraction` of them at or below.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// What is left of a TODO at a typical duration: all of it, or for a running TODO what it has not yet spent.
    func left(_ item: ReviewInput.Item, typical: Double) -> Double {
        guard item.state == .running, let started = item.facts.startedAt else { return typical }
        return max(0, typical - Double(input.now - started) / 1000)
    }

    /// How long a parked (`waiting`) TODO still waits for its reset, in seconds; 0 for any other.
    func parkedFor(_ item: ReviewInput.Item) -> Double {
        guard item.state == .waiting, let resumeAt = item.facts.resumeAt else { return 0 }
        return max(0, Double(resumeAt - input.now) / 1000)
    }

    /// The longest chain of remaining TODOs, each taking what is left of it at the typical duration.
    func criticalPath(_ remaining: [ReviewInput.Item], typical: Double) -> (keys: [String], seconds: Double) {
        // Longest time to finish each TODO, its remaining dependencies first, in topological order (no recursion:
        // a plan may be a chain of thousands).
        var finish: [String: (seconds: Double, previous: String?)] = [:]
        var longest: (seconds: Double, key: String?) = (-1, nil)
        for key in topologicalOrder(remaining) {
            let item = byKey[key]!
            var before: (seconds: Double, previous: String?) = (0, nil)
            for dependency in item.dependsOn {
                guard let done = finish[dependency] else { continue }  // finished already: nothing to wait for
                if before.previous == nil || done.seconds > before.seconds { before = (done.seconds, dependency) }
            }
            // A parked TODO starts again no earlier than its reset.
            let total = max(before.seconds, parkedFor(item)) + left(item, typical: typical)
            finish[key] = (total, before.previous)
            if total > longest.seconds { longest = (total, key) }
        }
        var path: [String] = []
        var cursor = longest.key
        while let key = cursor {
            path.append(key)
            cursor = finish[key]?.previous
        }
        return (path.reversed(), max(0, longest.seconds))
    }

    /// The remaining TODOs, each after the remaining TODOs it depends on (ties in plan order).
    func topologicalOrder(_ remaining: [ReviewInput.Item]) -> [String] {
        let open = Set(remaining.map(\.key))
        var waiting: [String: Int] = [:]
        for item in remaining { waiting[item.key] = item.dependsOn.filter { open.contains($0) }.count }
        var queue = remaining.map(\.key).filter { waiting[$0] == 0 }
        var order: [String] = []
        var index = 0
        while index < queue.count {
            let key = queue[index]
            index += 1
            order.append(key)
            for dependent in dependents[key] ?? [] where open.contains(dependent) {
                waiting[dependent]! -= 1
                if waiting[dependent] == 0 { queue.append(dependent) }
            }
        }
        return order
    }

    /// The remaining work spread over the worker slots; `nil` without slots.
    func capacity(_ remaining: [ReviewInput.Item], typical: Double) -> Double? {
        guard input.slots > 0 else { return nil }
        return remaining.reduce(0) { $0 + left($1, typical: typical) } / Double(input.slots)
    }
}
