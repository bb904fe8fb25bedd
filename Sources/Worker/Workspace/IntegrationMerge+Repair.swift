import DroverProtocol
import Synchronization

/// A merge the agent resolves (``MergeRepair``): the agent works in the worktree with the merge in progress; then,
/// whatever it said, the worker stages everything, makes sure no path is unmerged and no conflict marker is left
/// (``ConflictMarkers``), commits the one merge commit (both parents), runs the integration checks again, and pushes
/// it with the same lease and tag as any merge. An agent that gives up, or work that does not pass, pushes nothing.
extension IntegrationMerge {
    /// How the agent's work was settled in the worktree: committed, or not, and why.
    enum Settled: Sendable {
        case committed(head: String)
        case unresolved(String)
    }

    /// Runs the repair's agent on `merged` (not committed, in `path`) for `cause`, and lands its work when it holds.
    func repaired(_ merged: Merged, _ cause: MergeRepair.Cause, by repair: MergeRepair, in path: String) async -> AgentResult {
        events([AgentEvent(kind: .workspace, text: cause.beginning)])
        let turns = Mutex(0)
        var context = repair.context
        context.checkpoint = {}  // nothing is kept until the merge is committed, checked and pushed
        let forward = context.events
        context.events = { new in
            let started = new.count { $0.kind == .turnStarted }
            if started > 0 { turns.withLock { $0 += started } }
            forward(new)
        }
        let agent = await repair.agent.run(task: repair.agentTask, lease: lease, workdir: path, context: context)
        if Task.isCancelled || abort.isSet { return Self.stopped }
        let took = Self.turns(turns.withLock { $0 })
        guard agent.outcome == .succeeded else {
            let markers = (try? await ConflictMarkers.files(in: path, git: git)) ?? []
            let left = markers.isEmpty ? "" : "; conflict markers remain in \(markers.joined(separator: ", "))"
            var result = unrepaired(
                merged,
                cause,
                outcome: agent.outcome,
                why: "the agent did not resolve it\(took) (\(agent.outcome.rawValue): \(agent.summary))\(left)"
            )
            result.checks = agent.checks
            result.outputTail = agent.outputTail
            result.tokens = agent.tokens
            return result
        }
        let settled: Settled
        do {
            settled = try await settle(merged, in: path)
        } catch {
            return unrepaired(merged, cause, outcome: .failed, why: "the agent's work could not be committed: \(error)")
        }
        var landed = merged
        switch settled {
        case .unresolved(let why):
            return unrepaired(merged, cause, outcome: .failed, why: "the agent said it was done\(took), but \(why)")
        case .committed(let head):
            landed.head = head
            landed.uncommitted = false
        }
        events([AgentEvent(kind: .workspace, text: "committed the agent's resolution: \(MergeStart.short(landed.head))")])
        let checks = await runChecks(in: path)
        if Task.isCancelled || abort.isSet { return Self.stopped }
        if checks.contains(where: { !$0.passed }) {
            return unrepaired(
                merged,
                cause,
                outcome: .failed,
                why: "after the agent's work\(took) the integration checks fail",
                checks: checks
            )
        }
        var result = await push(landed, from: path, checks: checks, repaired: "\(cause.problem), resolved by the agent\(took)")
        result.tokens = agent.tokens
        return result
    }

    /// Under the clone's lock: everything in the worktree staged, nothing unmerged or marked left, and the merge
    /// committed; or what stops it. An agent that committed, aborted or moved the merge itself is not trusted with it.
    private func settle(_ merged: Merged, in path: String) async throws -> Settled {
        try await CloneLocks.shared.withLock(workspace.clone(of: repository)) {
            guard await git.commit("MERGE_HEAD", in: path) != nil, await git.commit("HEAD", in: path) == merged.start else {
                return .unresolved("the merge is no longer in progress (the agent committed, aborted or moved it)")
            }
            try await git(["-C", path, "add", "--all"])
            let unmerged = try await unmerged(in: path)
            guard unmerged.isEmpty else { return .unresolved("paths remain unmerged: \(unmerged.joined(separator: ", "))") }
            let markers = try await ConflictMarkers.files(in: path, git: git)
            guard markers.isEmpty else { return .unresolved("conflict markers remain in \(markers.joined(separator: ", "))") }
            return .committed(head: try await commitHeld(in: path, message: "\(Self.message(spec)), resolved by the agent"))
        }
    }

    /// " in 3 turns", for a summary; nothing for an agent that runs no model turns (a command).
    static func turns(_ count: Int) -> String {
        count == 0 ? "" : " in \(count) turn\(count == 1 ? "" : "s")"
    }
}
