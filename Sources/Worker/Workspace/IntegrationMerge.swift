import DroverProtocol
import Foundation

/// A merge task (``TaskSpec/merge``): a done TODO's branch merged into its plan's integration branch, the
/// integration checks run on the result, and only then the merge pushed and tagged. No agent runs, unless the task
/// has a prompt (``MergeRepair``): then a conflict, or failing checks after a clean merge, are given to the lease's
/// agent in the worktree, the merge still uncommitted (`--no-commit`), so that its fixes go into the one merge commit.
///
/// In three steps: under the clone's lock, fetch (with tags), find where the integration branch is
/// (``MergeStart``), and merge in a worktree detached there; then run the checks, without the lock; then, under the
/// lock again, push the merge with a lease on the commit it was expected at, so that a stale or duplicate merge
/// cannot overwrite a newer one. A conflict, failing checks or a moved branch push nothing. The worktree is removed
/// at the end, whatever happened; a stopped or aborted merge pushes nothing.
struct IntegrationMerge {
    var workspace: GitWorkspace
    var spec: MergeSpec
    var repository: String
    /// The integration checks, run on the merged tree.
    var checks: [Check]
    var lease: LeaseRef
    var abort: LeaseRun.Abort
    var events: @Sendable ([AgentEvent]) -> Void
    /// The agent that resolves a conflict or failing checks, for a task with a prompt; nil: none runs.
    var repair: MergeRepair?
    /// How long a stopped check gets between SIGTERM and SIGKILL.
    var grace: Duration = .seconds(2)

    /// The bound of a result's ``MergeResult/detail``: conflict hunks, failing output.
    static let detailLimit = 16 << 10

    /// A merged tree, ready for the checks and the push.
    struct Merged: Sendable {
        /// The commit the merge started from: the integration branch's head, or the base's for a new one.
        var start: String
        /// The commit after the merge (`start` when there was nothing to merge).
        var head: String
        /// The base the integration branch is made from, for people; nil when it existed.
        var createdFrom: String?
        /// Where the remote's base tag is, when it has one (read when the integration branch is made).
        var baseTagAt: String?
        /// The TODO's branch does not exist: it pushed nothing, there was nothing to merge.
        var branchMissing: Bool
        /// The merge is in the worktree but not committed yet (`head` is still `start`): a task with a prompt merges
        /// with `--no-commit`, so that an agent's fixes go into the one merge commit.
        var uncommitted = false
    }

    /// How the first step ended: a merged tree, or a result already.
    enum Prepared: Sendable {
        case merged(Merged)
        case ended(AgentResult)
        /// The merge conflicts, and is left in progress in the worktree for the agent (a task with a prompt).
        case conflicted(Merged, MergeRepair.Cause)
    }

    var git: Git { workspace.git }

    func run() async -> AgentResult {
        let name = "\(workspace.worker)-merge-\(lease.plan)-\(lease.todo)-\(lease.epoch)"
        let result = await merge(in: name)
        await workspace.remove(worktreeAt: workspace.worktreeDirectory(name), repository: repository)
        return result
    }

    private func merge(in name: String) async -> AgentResult {
        let path = workspace.worktreeDirectory(name)
        let prepared: Prepared
        do {
            prepared = try await workspace.withClone(of: repository, tags: true) { clone in try await prepare(clone: clone, name: name) }
        } catch {
            if Task.isCancelled || abort.isSet { return Self.stopped }
            return AgentResult(outcome: .failed, summary: "could not merge \(spec.branch) into \(spec.integration): \(error)")
        }
        var merged: Merged
        switch prepared {
        case .ended(let result): return result
        case .merged(let tree): merged = tree
        case .conflicted(let tree, let cause):
            guard let repair else { return AgentResult(outcome: .failed, summary: "a conflict was kept for an agent, and there is none") }
            if Task.isCancelled || abort.isSet { return Self.stopped }
            return await repaired(tree, cause, by: repair, in: path)
        }
        if Task.isCancelled || abort.isSet { return Self.stopped }
        var checkResults: [CheckResult] = []
        if merged.uncommitted || merged.head != merged.start {
            checkResults = await runChecks(in: path)
            if Task.isCancelled || abort.isSet { return Self.stopped }
            if checkResults.contains(where: { !$0.passed }) {
                guard let repair else { return checksFailed(merged, checks: checkResults) }
                return await repaired(merged, .checksFailed(checkResults), by: repair, in: path)
            }
        }
        if merged.uncommitted {
            do {
                merged.head = try await commit(in: path, message: Self.message(spec))
                merged.uncommitted = false
                events([AgentEvent(kind: .workspace, text: "committed the merge of \(spec.branch): \(MergeStart.short(merged.head))")])
            } catch {
                return AgentResult(
                    outcome: .failed,
                    summary: "could not commit the merge of \(spec.branch): \(error)",
                    checks: checkResults
                )
            }
        }
        return await push(merged, from: path, checks: checkResults)
    }

    /// The merge commit's message.
    static func message(_ spec: MergeSpec) -> String { "drover: merge \(spec.todo) (\(spec.title))" }

    /// Under the clone's lock: where the integration branch is, and the merge in a new worktree named `name`.
    private func prepare(clone: String, name: String) async throws -> Prepared {
        let (head, branch, start) = try await locate(in: clone)
        let found = head.map { "\(spec.integration) is at \(MergeStart.short($0))" } ?? "\(spec.integration) does not exist yet"
        events([AgentEvent(kind: .workspace, text: "fetched \(repository): \(found)")])
        var merged = Merged(start: "", head: "", branchMissing: branch == nil)
        switch start {
        case .moved(let head, let detail):
            events([AgentEvent(kind: .workspace, text: "\(detail): nothing done")])
            return .ended(
                Self.result(.failed, "\(detail): nothing done", MergeResult(outcome: .moved, head: head, detail: detail))
            )
        case .merged(let head):
            let text =
                "\(spec.branch) is already merged into \(spec.integration), now at \(MergeStart.short(head)) "
                + "(by an earlier run whose report was lost): not merged again"
            events([AgentEvent(kind: .workspace, text: text)])
            return .ended(Self.result(.succeeded, text, MergeResult(outcome: .merged, head: head)))
        case .onto(let head):
            merged.start = head
        case .fromBase:
            let ref = try await workspace.baseRef(spec.base, clone: clone, repository: repository)
            guard let start = await git.commit(ref, in: clone) else {
                throw DroverError(.git, "the base \(spec.base ?? "the default branch") names no commit in \(repository)")
            }
            merged.start = start
            merged.createdFrom = spec.base ?? "the default branch"
            merged.baseTagAt = await git.commit("refs/tags/\(spec.baseTag)", in: clone)
        }
        let path = try await workspace.worktreePath(name, clone: clone)
        try await git(["-C", clone, "worktree", "add", "--quiet", "--detach", path, merged.start])
        try await git.identify(path)
        merged.head = merged.start
        let at = "\(merged.createdFrom ?? spec.integration) (\(MergeStart.short(merged.start)))"
        let starts = merged.createdFrom == nil ? "" : ", where \(spec.integration) starts"
        events([AgentEvent(kind: .workspace, text: "worktree detached at \(at)\(starts)")])
        guard !merged.branchMissing else {
            events([AgentEvent(kind: .workspace, text: "\(spec.branch) does not exist: nothing to merge")])
            return .merged(merged)
        }
        // With a prompt, the merge stays uncommitted: the agent's fixes, if it is needed, go into the one commit.
        let keep = repair == nil ? [] : ["--no-commit"]
        do {
            try await git(
                ["-C", path, "merge", "--quiet", "--no-ff", "--no-edit"] + keep + ["-m", Self.message(spec), "origin/\(spec.branch)"]
            )
        } catch {
            let files = (try? await unmerged(in: path)) ?? []
            let hunks = try? await git.head(["-C", path, "diff"], limit: Self.detailLimit)
            if repair != nil, !files.isEmpty {
                return .conflicted(merged, .conflict(files: files, hunks: hunks?.text, cut: hunks?.cut ?? false))
            }
            _ = try? await git(["-C", path, "merge", "--abort"])
            guard !files.isEmpty else { throw error }
            return .ended(conflict(files: files, hunks: hunks, at: merged))
        }
        if repair != nil, await git.commit("MERGE_HEAD", in: path) != nil {
            merged.uncommitted = true
            events([AgentEvent(kind: .workspace, text: "merged \(spec.branch), not committed until the checks pass")])
            return .merged(merged)
        }
        guard let head = await git.commit("HEAD", in: path) else { throw DroverError(.git, "the merge left no commit") }
        merged.head = head
        let text =
            head == merged.start
            ? "\(spec.branch) is in \(spec.integration) already: nothing to merge"
            : "merged \(spec.branch): \(MergeStart.short(head))"
        events([AgentEvent(kind: .workspace, text: text)])
        return .merged(merged)
    }

    /// The paths of `worktree` git holds unmerged (conflicted).
    func unmerged(in worktree: String) async throws -> [String] {
        let names = try await git.head(["-C", worktree, "diff", "--name-only", "--diff-filter=U"], limit: 64 << 10)
        return names.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Under the clone's lock: the merge in progress in `worktree` committed with `message`; returns the commit.
    func commit(in worktree: String, message: String) async throws -> String {
        try await CloneLocks.shared.withLock(workspace.clone(of: repository)) { try await commitHeld(in: worktree, message: message) }
    }

    /// ``commit(in:message:)`` for a caller that holds the clone's lock already.
    func commitHeld(in worktree: String, message: String) async throws -> String {
        try await git(["-C", worktree, "commit", "--quiet", "--no-verify", "--no-edit", "-m", message])
        guard let head = await git.commit("HEAD", in: worktree) else { throw DroverError(.git, "the merge left no commit") }
        return head
    }

    /// Where the integration branch and the TODO's branch are in the fetched clone (nil: not on the remote), and
    /// where the merge starts from there.
    private func locate(in clone: String) async throws -> (head: String?, branch: String?, start: MergeStart) {
        let head = await git.commit("refs/remotes/origin/\(spec.integration)", in: clone)
        let branch = await git.commit("refs/remotes/origin/\(spec.branch)", in: clone)
        var branchMerged = false
        if let head, let branch { branchMerged = try await git.isAncestor(branch, of: head, in: clone) }
        return (head, branch, MergeStart.decide(spec, head: head, branchMerged: branchMerged))
    }

    /// The integration checks in the merged tree, each one an event.
    func runChecks(in path: String) async -> [CheckResult] {
        guard !checks.isEmpty else { return [] }
        events([AgentEvent(kind: .workspace, text: "running \(checks.count) integration check(s)")])
        let results = await CheckRunner(environment: lease.environment(), directory: path, grace: grace).run(checks)
        events(results.map { AgentEvent(kind: .check, text: "\($0.passed ? "passed" : "failed"): \($0.check): \($0.detail)") })
        return results
    }

    /// Under the clone's lock: the merge pushed to the integration branch, leased on the commit expected there (none
    /// for a new branch), with its tag in the same atomic push (forced: a merge redone after a rollback moves it);
    /// then, for a new integration branch, the base tag, unless the remote has it already.
    func push(_ merged: Merged, from path: String, checks: [CheckResult], repaired: String? = nil) async -> AgentResult {
        let clone = workspace.clone(of: repository)
        let fence = "--force-with-lease=refs/heads/\(spec.integration):\(spec.expect ?? "")"
        do {
            // The last moment to stop: an aborted lease's merge must not land.
            guard !Task.isCancelled, !abort.isSet else { return Self.stopped }
            _ = try await CloneLocks.shared.withLock(clone) {
                try await git([
                    "-C", path, "push", "--quiet", "--atomic", fence, "origin",
                    "\(merged.head):refs/heads/\(spec.integration)", "+\(merged.head):refs/tags/\(spec.tag)",
                ])
            }
        } catch {
            if Task.isCancelled || abort.isSet {
                return AgentResult(outcome: .cancelled, summary: "the merge was stopped while it was being pushed: it may have landed")
            }
            return await pushRefused(error)
        }
        events([
            AgentEvent(kind: .workspace, text: "pushed \(spec.integration) at \(MergeStart.short(merged.head)), tagged \(spec.tag)")
        ])
        var notes: [String] = []
        if let from = merged.createdFrom {
            notes.append("\(spec.integration) made from \(from) at \(MergeStart.short(merged.start))")
            notes.append(await pushBaseTag(merged))
        }
        return mergedResult(merged, checks: checks, repaired: repaired, notes: notes)
    }

    /// Tags a new integration branch's start, unless the remote's tag is there already, or elsewhere (then it is
    /// left, and said so).
    private func pushBaseTag(_ merged: Merged) async -> String {
        let tag = spec.baseTag
        if let at = merged.baseTagAt {
            return at == merged.start
                ? "tag \(tag) already there"
                : "the tag \(tag) already exists at \(MergeStart.short(at)), not at the base: it was left there"
        }
        do {
            _ = try await CloneLocks.shared.withLock(workspace.clone(of: repository)) {
                try await git(["-C", workspace.clone(of: repository), "push", "--quiet", "origin", "\(merged.start):refs/tags/\(tag)"])
            }
            events([AgentEvent(kind: .workspace, text: "tagged the base \(MergeStart.short(merged.start)) \(tag)")])
            return "tag \(tag)"
        } catch {
            return "the tag \(tag) was not pushed (it is there already?): \(error)"
        }
    }

    /// The push was refused: fetched again, the integration branch moved on since the merge began (the merge is
    /// in it, or someone else moved it); anything else is a failure.
    private func pushRefused(_ error: any Error) async -> AgentResult {
        let now = try? await workspace.withClone(of: repository, tags: true) { clone in try await locate(in: clone).start }
        switch now {
        case .merged(let head):
            let text = "\(spec.branch) was merged into \(spec.integration) meanwhile, now at \(MergeStart.short(head)): not pushed again"
            return Self.result(.succeeded, text, MergeResult(outcome: .merged, head: head))
        case .moved(let head, let detail):
            return Self.result(.failed, "\(detail): nothing pushed", MergeResult(outcome: .moved, head: head, detail: detail))
        default:
            return AgentResult(outcome: .failed, summary: "could not push \(spec.integration): \(error)")
        }
    }
}
