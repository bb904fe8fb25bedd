import DroverProtocol

/// What a merge task reports: the run's outcome (`succeeded` only for `merged`), a line for people, and the
/// ``MergeResult`` the coordinator acts on.
extension IntegrationMerge {
    /// Stopped (cancelled, or the lease taken away) before anything was pushed.
    static let stopped = AgentResult(outcome: .cancelled, summary: "the merge was stopped: nothing was pushed")

    static func result(_ outcome: Outcome, _ summary: String, _ merge: MergeResult, checks: [CheckResult] = []) -> AgentResult {
        var result = AgentResult(outcome: outcome, summary: summary, checks: checks)
        result.merge = merge
        return result
    }

    /// The merge conflicts: the files, and the conflicted diff (bounded) for whoever resolves it.
    func conflict(files: [String], hunks: (text: String, cut: Bool)?, at merged: Merged) -> AgentResult {
        let onto = merged.createdFrom.map { "its base \($0)" } ?? "\(spec.integration) at \(MergeStart.short(merged.start))"
        let summary = "merging \(spec.branch) into \(onto) conflicts in \(files.joined(separator: ", ")): nothing pushed"
        events([AgentEvent(kind: .workspace, text: summary)])
        let detail = hunks.map { Self.bounded($0.text, cut: $0.cut) }
        return Self.result(.failed, summary, MergeResult(outcome: .conflict, head: merged.start, conflicts: files, detail: detail))
    }

    /// Merged cleanly, but the integration checks failed: what they said, nothing pushed.
    func checksFailed(_ merged: Merged, checks: [CheckResult]) -> AgentResult {
        let failed = checks.filter { !$0.passed }
        let summary =
            "merged \(spec.branch) cleanly, but the integration checks failed (\(failed.map(\.check).joined(separator: ", "))): "
            + "nothing pushed"
        events([AgentEvent(kind: .workspace, text: summary)])
        let detail = Self.failingOutput(checks)
        return Self.result(.failed, summary, MergeResult(outcome: .checksFailed, head: merged.start, detail: detail), checks: checks)
    }

    /// What the failing checks among `checks` said, bounded: a `checks_failed` result's detail.
    static func failingOutput(_ checks: [CheckResult]) -> String {
        bounded(checks.filter { !$0.passed }.map { "\($0.check): \($0.detail)" }.joined(separator: "\n\n"), cut: false)
    }

    /// The agent did not resolve the merge (`why`), or what it left does not pass: reported with `outcome` (the
    /// agent's own, `failed` when it said it was done), and the merge's `conflict` or `checks_failed` as it was
    /// found (or, with `checks`, as the checks after the agent's work said); nothing pushed.
    func unrepaired(
        _ merged: Merged,
        _ cause: MergeRepair.Cause,
        outcome: Outcome,
        why: String,
        checks: [CheckResult] = []
    ) -> AgentResult {
        let summary = "\(cause.problem); \(why): nothing pushed"
        events([AgentEvent(kind: .workspace, text: summary)])
        var result = cause.unrepaired(head: merged.start)
        if checks.contains(where: { !$0.passed }) { result.detail = Self.failingOutput(checks) }
        return Self.result(outcome, summary, result, checks: checks)
    }

    /// Merged, checked, pushed and tagged.
    /// - Parameter repaired: how the agent resolved it (``MergeRepair``), when it did.
    func mergedResult(_ merged: Merged, checks: [CheckResult], repaired: String? = nil, notes: [String]) -> AgentResult {
        let head = MergeStart.short(merged.head)
        var summary =
            if merged.branchMissing {
                "\(spec.branch) does not exist (the TODO pushed nothing): nothing to merge; \(spec.integration) stays at \(head) "
                    + "(tag \(spec.tag))"
            } else if merged.head == merged.start {
                "\(spec.branch) is in \(spec.integration) already: nothing to merge; it stays at \(head) (tag \(spec.tag))"
            } else {
                "merged \(spec.branch) into \(spec.integration) at \(head) (tag \(spec.tag)); "
                    + (repaired.map { "\($0); " } ?? "") + (checks.isEmpty ? "no checks to run" : "checks passed")
            }
        for note in notes { summary += "; \(note)" }
        return Self.result(.succeeded, summary, MergeResult(outcome: .merged, head: merged.head), checks: checks)
    }

    /// `text` within ``detailLimit`` bytes, cut at a line, saying so when anything was left out.
    static func bounded(_ text: String, cut: Bool) -> String {
        let note = "\n… (cut at \(detailLimit / 1024) KB)"
        guard cut || text.utf8.count > detailLimit else { return text }
        var kept = Array(text.utf8.prefix(detailLimit - note.utf8.count))
        if let newline = kept.lastIndex(of: UInt8(ascii: "\n")) { kept.removeSubrange(newline...) }
        return String(decoding: kept, as: UTF8.self) + note
    }
}
