import DroverProtocol
import Synchronization

/// One lease's work from start to end: the TODO's workspace (a git worktree when the plan has a repository), the
/// agent in it, and the checkpoint after it. A task with a repository and no branch runs in a worktree detached at
/// its base, with no checkpoints, removed after the run: read-only work such as a job's steps. A merge task merges
/// its branch into the plan's integration branch (``IntegrationMerge``); the agent runs there only when the task has
/// a prompt and the merge conflicts or fails its checks (``MergeRepair``).
struct LeaseRun: Sendable {
    var agent: any AgentSession
    var workdir: String
    var worker: String
    /// Checkpoints during a turn, after file changes and commands, at most this often; nil: only between turns.
    var checkpointInterval: Duration? = nil
    /// Takes secrets out of the codex thread before it is pushed beside the checkpoint.
    var redactor = Redactor()

    /// A flag set from one task and read from others.
    final class Flag: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .releasing) }
        var isSet: Bool { flag.load(ordering: .acquiring) }
    }

    /// Set when the lease is taken away: its work must not be checkpointed.
    typealias Abort = Flag

    func run(
        _ task: TaskSpec,
        lease: LeaseRef,
        abort: Abort,
        context: AgentContext
    ) async -> AgentResult {
        let events = context.events
        if let merge = task.merge {
            guard let repository = task.repository else {
                return AgentResult(outcome: .failed, summary: "a merge task needs the plan's repository, and this one has none")
            }
            let workspace = GitWorkspace(root: workdir, worker: worker)
            return await IntegrationMerge(
                workspace: workspace,
                spec: merge,
                repository: repository,
                checks: task.checks,
                lease: lease,
                abort: abort,
                events: events,
                repair: MergeRepair(task: task, agent: agent, context: context)
            ).run()
        }
        guard let repository = task.repository else {
            return await agent.run(task: task, lease: lease, workdir: workdir, context: context)
        }
        let workspace = GitWorkspace(root: workdir, worker: worker)
        let prepared: GitWorkspace.Worktree
        do {
            prepared = try await workspace.prepare(
                repository: repository,
                branch: task.branch,
                base: task.base,
                merging: (task.dependencies ?? []).map(\.branch),
                lease: lease
            )
        } catch {
            return AgentResult(outcome: .failed, summary: "could not prepare the worktree: \(error)")
        }
        guard let branch = prepared.branch else {
            return await detached(task, lease: lease, in: prepared, of: workspace, repository: repository, context: context)
        }
        let merged = prepared.merged.isEmpty ? "" : ", with \(prepared.merged.joined(separator: ", ")) merged in"
        events([AgentEvent(kind: .workspace, text: "worktree on \(branch), from \(prepared.startedFrom)\(merged)")])
        var task = task
        if let dependencies = task.dependencies, !dependencies.isEmpty, let prompt = task.prompt {
            task.prompt = Self.dependencyNote(dependencies) + "\n\n" + prompt
        }
        if !prepared.startedAt.isEmpty, let prompt = task.prompt {
            // A reassigned TODO goes on from its checkpoint: say so, or the agent would start over.
            let handover = task.handover.map { "\n\n\($0)" } ?? ""
            task.prompt =
                "Earlier work on this task, by another session, is already in the files (branch \(branch), "
                + "commit \(prepared.startedAt.prefix(7))). Check what is there and continue from it.\(handover)\n\n\(prompt)"
        }
        let worktree = WorktreeBox(prepared)
        let checkpoint: @Sendable (String) async -> String? = { outcome in
            guard !abort.isSet else { return nil }
            do {
                let line = try await worktree.update { try await workspace.checkpoint(&$0, lease: lease, outcome: outcome) }
                // What the branch has changed so far: the coordinator keeps TODOs that may touch it from running now.
                let files = await workspace.changes(await worktree.value)?.files
                events([AgentEvent(kind: .checkpoint, text: line, files: files)])
                return line
            } catch {
                events([AgentEvent(kind: .checkpointFailed, text: "\(error)")])
                return nil
            }
        }
        var context = context
        context.checkpoint = { _ = await checkpoint("checkpoint") }
        // The codex thread, kept beside the checkpoint for the next session when this one is paused or parked.
        let threadStored = Flag()
        context.threads = ThreadKeeper(
            save: { id, home, outcome in
                guard !abort.isSet else { throw DroverError(.git, "the lease was taken away: its thread is not kept") }
                let ref = try await workspace.saveThread(
                    id,
                    home: home,
                    repository: repository,
                    lease: lease,
                    outcome: outcome,
                    redactor: redactor
                )
                threadStored.set()
                return ref
            },
            restore: { id, home in
                try await workspace.restoreThread(id, into: home, repository: repository, lease: lease)
                threadStored.set()
            }
        )
        // During a turn too: what the session changed is saved a little after it changed it, so a worker that dies
        // mid-turn (a turn can take half an hour) loses no more than the interval.
        let duringTurn = checkpointInterval.map { MidTurnCheckpoints(interval: $0) { _ = await checkpoint("checkpoint during a turn") } }
        if let duringTurn {
            context.events = { new in
                events(new)
                if new.contains(where: { $0.kind == .fileChange || $0.kind == .command }) { duringTurn.poke() }
            }
        }
        var result = await agent.run(task: task, lease: lease, workdir: prepared.path, context: context)
        await duringTurn?.stop()
        if !abort.isSet {
            if let line = await checkpoint(result.outcome.rawValue) {
                result.summary += " (\(line))"
            } else if result.outcome == .succeeded {
                result.outcome = .failed
                result.summary = "the work is done but could not be saved to \(branch)"
            }
        }
        if !abort.isSet, threadStored.isSet, !result.outcome.continuesThread {
            // The TODO's next session, if there is one, starts a new thread: the stored one would only pile up.
            do {
                let ref = try await workspace.forgetThread(repository: repository, lease: lease)
                events([AgentEvent(kind: .thread, text: "removed the stored codex thread \(ref): the TODO's session has ended")])
            } catch {
                events([AgentEvent(kind: .thread, text: "could not remove the stored codex thread (\(error)); it is no longer needed")])
            }
        }
        let changes = await workspace.changes(await worktree.value)
        result.files = changes?.files
        result.diffStat = changes?.stat
        await workspace.remove(await worktree.value, repository: repository)
        return result
    }

    /// What the session is told of the TODOs its TODO depends on: their work is in the files.
    static func dependencyNote(_ dependencies: [DependencyWork]) -> String {
        "This task builds on work already done, which is in the files (merged from each branch):\n"
            + dependencies.map { "- \($0.todo) (\($0.title)), branch \($0.branch)" + ($0.summary.map { ": \($0)" } ?? "") }
            .joined(separator: "\n")
    }

    /// Read-only work in a detached worktree: nothing is committed or pushed, no files are reported, and the
    /// worktree is removed after the run, whatever it left behind.
    private func detached(
        _ task: TaskSpec,
        lease: LeaseRef,
        in worktree: GitWorkspace.Worktree,
        of workspace: GitWorkspace,
        repository: String,
        context: AgentContext
    ) async -> AgentResult {
        context.events([
            AgentEvent(kind: .workspace, text: "worktree detached at \(worktree.startedFrom): nothing is kept, it is removed after the run")
        ])
        var context = context
        context.checkpoint = {}  // nothing of this work is kept
        var result = await agent.run(task: task, lease: lease, workdir: worktree.path, context: context)
        result.files = nil
        await workspace.remove(worktree, repository: repository)
        return result
    }
}

/// A lease's worktree, shared by the checkpoints during and between turns and the one at the end. Updates go one at
/// a time: a checkpoint taken during a turn may still run when the turn ends.
actor WorktreeBox {
    private var worktree: GitWorkspace.Worktree
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ worktree: GitWorkspace.Worktree) { self.worktree = worktree }

    var value: GitWorkspace.Worktree { worktree }

    func update<T: Sendable>(_ body: @Sendable (inout GitWorkspace.Worktree) async throws -> T) async rethrows -> T {
        // The actor lets another call in at each `await`: wait for the update under way to end.
        while busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        defer {
            busy = false
            if !waiting.isEmpty { waiting.removeFirst().resume() }
        }
        var copy = worktree
        let result = try await body(&copy)
        worktree = copy
        return result
    }
}
