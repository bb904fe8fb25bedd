import DroverProtocol

/// Bottlenecks and risks.
extension Reviewer {
    /// How many of each kind of bottleneck the review lists.
    static let findingsPerKind = 3

    func bottlenecks(_ eta: ReviewBody.Estimate?) -> [ReviewBody.Finding] {
        blocking() + longRunning(eta) + mostRepaired() + idleWhileWaiting()
    }

    /// TODOs holding up the most work: those being worked on or ready, by what waits for them, and stopped ones by
    /// what was skipped because of them. Pending TODOs are not counted: what holds them up is further upstream (and
    /// leaving them out keeps a long chain from costing its length squared).
    private func blocking() -> [ReviewBody.Finding] {
        let findings: [ReviewBody.Finding] = input.items.compactMap { item in
            let stopped = item.state == .failed || item.state == .escalated || item.state == .cancelled
            guard item.state == .running || item.state == .assigned || item.state == .ready || stopped else { return nil }
            let blocked = downstream(of: item.key).filter { key in
                guard let state = byKey[key]?.state else { return false }
                return stopped ? state == .skipped : !state.isTerminal
            }
            guard !blocked.isEmpty else { return nil }
            let what = blocked.count == 1 ? "1 TODO" : "\(blocked.count) TODOs"
            let wait = blocked.count == 1 ? "waits" : "wait"
            let reason =
                stopped
                ? "\(item.state.rawValue): \(what) will not run until it is retried"
                : asking.contains(item.key)
                    ? "\(what) \(wait) for it, and it waits for a human" : "\(what) \(wait) for it (\(item.state.rawValue))"
            return ReviewBody.Finding(kind: "blocking", todo: item.key, value: Double(blocked.count), reason: reason)
        }
        return Array(findings.sorted { $0.value > $1.value }.prefix(Self.findingsPerKind))
    }

    /// Running TODOs by how long they have been at it, compared with the finished ones.
    private func longRunning(_ eta: ReviewBody.Estimate?) -> [ReviewBody.Finding] {
        let findings: [ReviewBody.Finding] = input.items.compactMap { item in
            guard item.state == .running, let started = item.facts.startedAt else { return nil }
            let seconds = Double(input.now - started) / 1000
            var reason = "running for \(humanDuration(seconds: seconds))"
            if let eta, seconds > eta.sampleP90 {
                reason += ", longer than 90% of the finished TODOs took (\(humanDuration(seconds: eta.sampleP90)))"
            }
            return ReviewBody.Finding(kind: "long_running", todo: item.key, value: seconds, reason: reason)
        }
        return Array(findings.sorted { $0.value > $1.value }.prefix(Self.findingsPerKind))
    }

    private func mostRepaired() -> [ReviewBody.Finding] {
        let findings: [ReviewBody.Finding] = input.items.compactMap { item in
            guard item.repairs > 0 else { return nil }
            return ReviewBody.Finding(
                kind: "most_repaired",
                todo: item.key,
                value: Double(item.repairs),
                reason: "\(item.repairs) repair\(item.repairs == 1 ? "" : "s") (failed attempts and recoveries)"
                    + (item.detail.map { "; last: \($0.prefix(200))" } ?? "")
            )
        }
        return Array(findings.sorted { $0.value > $1.value }.prefix(Self.findingsPerKind))
    }

    /// Worker slots free while nothing is ready and work waits on a human.
    private func idleWhileWaiting() -> [ReviewBody.Finding] {
        let ready = input.items.contains { $0.state == .ready }
        guard input.freeSlots > 0, !ready, !input.inbox.isEmpty else { return [] }
        let items = input.inbox.count
        return [
            ReviewBody.Finding(
                kind: "idle_while_waiting",
                todo: nil,
                value: Double(input.freeSlots),
                reason: "\(input.freeSlots) worker slot\(input.freeSlots == 1 ? " is" : "s are") idle while "
                    + "\(items) inbox item\(items == 1 ? " waits" : "s wait") for a human"
            )
        ]
    }

    /// Pairs of branches of a plan that change, or may change, the same files: they will conflict when merged. The
    /// same data conflict-aware scheduling keeps apart: the files each TODO declares (globs) and those it changed so
    /// far (its checkpoints, its report).
    func risks() -> [ReviewBody.Risk] {
        let live = input.items.filter {
            $0.state != .skipped && $0.state != .cancelled && !$0.touchedFiles.isEmpty
        }
        var risks: [ReviewBody.Risk] = []
        for items in Dictionary(grouping: live, by: \.plan).values {
            for (index, first) in items.enumerated() {
                for second in items[(index + 1)...] {
                    let changed = Set(first.facts.files).intersection(second.facts.files)
                    let files = Set(
                        FileGlob.overlapping(first.touchedFiles, second.touchedFiles)
                            + FileGlob.overlapping(second.touchedFiles, first.touchedFiles)
                    )
                    guard !files.isEmpty else { continue }
                    let sorted = files.sorted()
                    let shown = sorted.prefix(3).joined(separator: ", ") + (sorted.count > 3 ? " and \(sorted.count - 3) more" : "")
                    risks.append(
                        ReviewBody.Risk(
                            branches: [first.branch, second.branch].sorted(),
                            files: sorted,
                            reason: (files == changed ? "both change " : "both change or may change ") + shown
                                + ": merge one, then rebase the other before merging it"
                        )
                    )
                }
            }
        }
        return risks.sorted {
            ($0.files.count, $1.branches.joined(separator: " ")) > ($1.files.count, $0.branches.joined(separator: " "))
        }
    }
}
