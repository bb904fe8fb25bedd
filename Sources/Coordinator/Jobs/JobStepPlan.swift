import DroverProtocol

/// The plan that runs one step of a job: a single read-only codex TODO, in the job's repository at its base, whose
/// session must answer with the step's JSON (`TaskSpec.output`). It is scheduled, leased, supervised and recovered
/// as any TODO is.
enum JobStepPlan {
    /// The step plan's id: `<job>-<step>`, and `<job>-<step>-<run>` from the second run on.
    static func id(job: String, step: JobStep, run: Int) -> String {
        run <= 1 ? "\(job)-\(step.rawValue)" : "\(job)-\(step.rawValue)-\(run)"
    }

    /// The line every step prompt begins with (the scripted model in tests and the demo matches on it).
    static func marker(_ step: JobStep) -> String { "Drover job step: \(step.rawValue)" }

    /// How long one step may run, and its turn budget: enough for a few repairs of its answer.
    static let timeoutSeconds: Double = 1800
    static let turns = 8

    static func plan(for step: JobStep, of job: JobRecord, run: Int) -> Plan {
        let todo = Todo(
            id: step.rawValue,
            title: title(step),
            prompt: prompt(for: step, of: job),
            risk: .low,
            budget: Budget(turns: turns),
            timeoutSeconds: timeoutSeconds,
            maxAttempts: 1,
            permissions: Permissions(sandbox: "read-only", network: false)
        )
        return Plan(
            id: id(job: job.id, step: step, run: run),
            title: "\(title(step)) for job \(job.id)",
            repository: job.repository,
            base: job.base,
            todos: [todo]
        )
    }

    static func title(_ step: JobStep) -> String {
        switch step {
        case .classify: "Classify the goal"
        case .investigate: "Investigate the repository"
        case .plan: "Plan the work"
        }
    }

    static func prompt(for step: JobStep, of job: JobRecord) -> String {
        var parts = [
            marker(step),
            "You are one step of Drover, which runs coding agents on a repository until a goal is reached. The current "
                + "directory is the repository (read-only for you: do not change files). Answer with only the JSON object "
                + "the output schema asks for.",
            "The goal:\n\(job.goal)",
        ]
        switch step {
        case .classify:
            parts.append(
                """
                Decide what kind of request the goal is:
                - `question`: it asks something about the repository; put the full answer in `answer`.
                - `one_file_change`: a change to one file. `multi_file_change`: a change across files. `commands`: commands to run.
                Say its complexity (low, medium, high) and whether the repository must be investigated before planning
                (`needs_investigation`; a one-file change usually does not need it). `summary`: the goal as you understood
                it, in one or two sentences. `answer` is null unless the kind is `question`.
                """
            )
        case .investigate:
            if let summary = job.classification?.summary { parts.append("As classified: \(summary)") }
            parts.append(
                """
                Read the repository and write what someone must know to work on this goal: `summary`; `layout` (where
                things are); `conventions` (style, structure, naming); `constraints` (what must not break or change);
                `build` and `test` (the exact commands, as this repository runs them); `files` (the paths that matter
                for this goal); `risks`.
                """
            )
        case .plan:
            if let context = job.context {
                parts.append(context)
            } else if let summary = job.classification?.summary {
                parts.append("As classified: \(summary)")
            }
            parts.append(
                """
                Write the plan: TODOs that together reach the goal, each done by one coding agent in its own git worktree
                of this repository. For each TODO: `id` (letters, digits, '-' and '_'), `title`, `prompt` (everything the
                agent needs: it sees only its prompt and the context), `depends_on` (ids of TODOs whose work it needs),
                `checks` (shell commands, run in the worktree, that must exit 0 when the TODO is done: use the
                repository's own build and test commands where there are any), `risk` (low, medium, high, critical),
                `permissions` (`sandbox`: workspace-write unless the TODO truly needs more; `network`: false unless it
                must reach the network; `writable`: paths outside the worktree it must write, usually none),
                `estimate_minutes`, and `files` (globs of the files it expects to touch). Ask for no more permission
                than the work needs: each grant beyond the defaults must be approved by a person. Prefer few TODOs;
                make TODOs independent where the work allows, so they can run in parallel.
                """
            )
            if !job.avoid.isEmpty {
                parts.append(
                    "The operator refused these permissions; the plan must not need them: "
                        + job.avoid.map { "`\($0)` (\(PermissionGrant.describe($0)))" }.joined(separator: ", ") + "."
                )
            }
        }
        return parts.joined(separator: "\n\n")
    }
}
