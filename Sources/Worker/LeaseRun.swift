import Shared
import Synchronization

/// One lease's work from start to end: the TODO's workspace (a git worktree when the plan has a repository), the
/// agent in it, and the checkpoint after it.
struct LeaseRun: Sendable {
    var agent: any AgentSession
    var workdir: String
    var worker: String

    /// Set when the lease is taken away: its work must not be checkpointed.
    final class Abort: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .releasing) }
        var isSet: Bool { flag.load(ordering: .acquiring) }
    }

    func run(_ task: TaskSpec, lease: LeaseRef, abort: Abort, events: @escaping @Sendable ([AgentEvent]) -> Void) async -> AgentResult {
        guard let repository = task.repository, let branch = task.branch else {
            return await agent.run(task: task, lease: lease, workdir: workdir, events: events)
        }
        let workspace = GitWorkspace(root: workdir, worker: worker)
        let worktree: GitWorkspace.Worktree
        do {
            worktree = try await workspace.prepare(repository: repository, branch: branch, lease: lease)
        } catch {
            return AgentResult(outcome: .failed, summary: "could not prepare the worktree: \(error)")
        }
        events([AgentEvent(kind: "workspace", text: "worktree on \(branch), from \(worktree.startedFrom)")])
        var result = await agent.run(task: task, lease: lease, workdir: worktree.path, events: events)
        if !abort.isSet {
            do {
                let line = try await workspace.checkpoint(worktree, lease: lease, outcome: result.outcome)
                events([AgentEvent(kind: "checkpoint", text: line)])
                result.summary += " (\(line))"
            } catch {
                events([AgentEvent(kind: "checkpoint_failed", text: "\(error)")])
                if result.outcome == .succeeded {
                    result.outcome = .failed
                    result.summary = "the work is done but not saved: \(error)"
                }
            }
        }
        await workspace.remove(worktree, repository: repository)
        return result
    }
}
