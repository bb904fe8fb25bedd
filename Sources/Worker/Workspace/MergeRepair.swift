import DroverProtocol

/// A merge task with a prompt (``TaskSpec/prompt``, a repair prompt written by the coordinator after the merge
/// conflicted or its checks failed): when the merge conflicts, or merges cleanly but the integration checks fail,
/// the lease's agent is run in the merge's worktree, the merge still in progress, to resolve it. The worker then
/// stages its work, makes sure nothing is left unresolved (``ConflictMarkers``), commits the one merge commit, runs
/// the checks again, and pushes as for any merge (``IntegrationMerge``).
struct MergeRepair: Sendable {
    /// The lease's agent: codex, a command, or either (``PromptOrCommandAgent``).
    var agent: any AgentSession
    /// The merge task, whose prompt, checks, budget, risk, permissions, context and time limit the agent gets.
    var task: TaskSpec
    /// How the agent talks to the rest of Drover: its events flow through the lease as any agent's do.
    var context: AgentContext

    /// A repair for `task`; nil when it has no prompt (a merge without one runs no agent).
    init?(task: TaskSpec, agent: any AgentSession, context: AgentContext) {
        guard task.prompt != nil else { return nil }
        self.agent = agent
        self.task = task
        self.context = context
    }

    /// The agent's task: the merge task's prompt (after ``note(_:)``) and context, its checks after "no conflict
    /// markers left", its budget, risk and time limit, and permissions that let it write the worktree. No repository,
    /// branch or merge: the worker does the git work around it.
    var agentTask: TaskSpec {
        TaskSpec(
            title: task.title,
            command: task.command,
            prompt: task.prompt.map { Self.note(task.merge) + "\n\n" + $0 },
            timeoutSeconds: task.timeoutSeconds,
            checks: [ConflictMarkers.check] + task.checks,
            budget: task.budget,
            risk: task.risk,
            permissions: Self.writable(task.permissions),
            context: task.context
        )
    }

    /// What the agent is told before the task's prompt: where it is, and that the worker does the git work.
    static func note(_ spec: MergeSpec?) -> String {
        let what = spec.map { " (\($0.branch) into \($0.integration))" } ?? ""
        return "This directory is a git worktree with a merge in progress\(what). Resolve it by editing the files: leave no "
            + "conflict markers and make the checks pass. Do not stage, commit, abort or redo the merge: when you are done, "
            + "Drover stages your changes and commits the merge."
    }

    /// `permissions` with a sandbox that may edit the worktree: a read-only sandbox becomes `workspace-write`,
    /// anything else (none: the worker's default, `workspace-write` unless configured) is kept.
    static func writable(_ permissions: Permissions?) -> Permissions? {
        guard var permissions, permissions.sandbox == "read-only" else { return permissions }
        permissions.sandbox = "workspace-write"
        return permissions
    }

    /// Why the agent is called.
    enum Cause: Sendable {
        /// The merge conflicts in `files`; `hunks`: the conflicted diff (bounded), and whether it was cut.
        case conflict(files: [String], hunks: String?, cut: Bool)
        /// The merge is clean, but these integration checks (some failing) say it does not work.
        case checksFailed([CheckResult])

        /// What the agent is called for, for people: "merge conflicts in a.txt", "the integration checks failed (…)".
        var problem: String {
            switch self {
            case .conflict(let files, _, _):
                "merge conflicts in \(files.joined(separator: ", "))"
            case .checksFailed(let checks):
                "the integration checks failed (\(checks.filter { !$0.passed }.map(\.check).joined(separator: ", ")))"
            }
        }

        /// The event that says the repair begins.
        var beginning: String {
            switch self {
            case .conflict: "\(problem): the agent resolves it"
            case .checksFailed: "\(problem) after a clean merge: the agent fixes it"
            }
        }

        /// What a merge that stays unrepaired reports: `conflict` with the files and hunks, or `checks_failed` with the
        /// failing output; `head`: where the integration branch stays.
        func unrepaired(head: String) -> MergeResult {
            switch self {
            case .conflict(let files, let hunks, let cut):
                MergeResult(outcome: .conflict, head: head, conflicts: files, detail: hunks.map { IntegrationMerge.bounded($0, cut: cut) })
            case .checksFailed(let checks):
                MergeResult(outcome: .checksFailed, head: head, detail: IntegrationMerge.failingOutput(checks))
            }
        }
    }
}
