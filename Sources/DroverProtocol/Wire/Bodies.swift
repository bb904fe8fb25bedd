/// Bodies of the v1 messages: the second JSON frame. Keys are snake_case on the wire.

/// A lease a worker holds: enough to fence it (`docs/architecture.md`, "Leases").
public struct LeaseRef: Codable, Sendable, Hashable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", plan, todo, epoch
    }

    public var leaseId: String
    public var plan: String
    public var todo: String
    public var epoch: Int64

    public init(leaseId: String, plan: String, todo: String, epoch: Int64) {
        self.leaseId = leaseId
        self.plan = plan
        self.todo = todo
        self.epoch = epoch
    }
}

/// `register`, worker → coordinator: who the worker is, and the leases it still holds (after a reconnect).
public struct RegisterBody: Codable, Sendable, Equatable {
    public var worker: String
    public var host: String
    public var slots: Int
    public var labels: [String]
    public var holding: [LeaseRef]
    public var draining: Bool

    public init(worker: String, host: String, slots: Int, labels: [String], holding: [LeaseRef], draining: Bool = false) {
        self.worker = worker
        self.host = host
        self.slots = slots
        self.labels = labels
        self.holding = holding
        self.draining = draining
    }
}

/// `welcome`, coordinator → worker, the answer to `register`.
public struct WelcomeBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case instance, heartbeatMs = "heartbeat_ms", leaseTtlMs = "lease_ttl_ms", abort
    }

    /// Changes every time a coordinator process starts; a worker that sees a new one registers again.
    public var instance: String
    public var heartbeatMs: Int64
    public var leaseTtlMs: Int64
    /// Leases the worker declared that are no longer its own: it must stop their work and drop their reports.
    public var abort: [String]

    public init(instance: String, heartbeatMs: Int64, leaseTtlMs: Int64, abort: [String]) {
        self.instance = instance
        self.heartbeatMs = heartbeatMs
        self.leaseTtlMs = leaseTtlMs
        self.abort = abort
    }
}

/// `heartbeat`, both directions. From a worker it lists the leases it holds; from the coordinator it carries the
/// coordinator's instance.
public struct HeartbeatBody: Codable, Sendable, Equatable {
    public var leases: [String]?
    public var draining: Bool?
    public var instance: String?

    public init(leases: [String]? = nil, draining: Bool? = nil, instance: String? = nil) {
        self.leases = leases
        self.draining = draining
        self.instance = instance
    }
}

/// What a worker is asked to do for one TODO.
public struct TaskSpec: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case title, command, prompt, timeoutSeconds = "timeout_seconds", checks, budget, risk, permissions, repository, branch, base,
            context, output, dependencies, merge, handover, model, modelBaseURL = "model_base_url", resumeThread = "resume_thread"
    }

    public var title: String
    /// A shell command (`/bin/sh -c`), run by the command agent.
    public var command: String?
    /// A prompt, for agents that take one.
    public var prompt: String?
    /// Time limit in seconds; the agent is stopped past it.
    public var timeoutSeconds: Double?
    public var checks: [Check]
    /// The TODO's budget (agent turns, tokens, wall time); nil leaves the agent's defaults.
    public var budget: Budget?
    /// How much damage the TODO could do; agents ask humans more as it grows.
    public var risk: Risk?
    /// What the agent may do; nil leaves the worker's defaults.
    public var permissions: Permissions?
    /// The plan's git repository, when it has one: the work happens in a worktree of it, on ``branch``.
    public var repository: String?
    /// The branch to work on. With a repository and no branch, the work happens in a worktree detached at ``base``
    /// that is thrown away after the run: read-only work, such as a job's steps.
    public var branch: String?
    /// Where a new branch starts (and what its changed files are counted against); nil is the default branch.
    public var base: String?
    /// A document the session is given before the prompt (the plan's context).
    public var context: String?
    /// The session must end with a JSON answer of this shape (a job's step).
    public var output: OutputSpec?
    /// The TODOs this one depends on, done: a new branch starts with their work merged in, and the session is told
    /// what they did.
    public var dependencies: [DependencyWork]?
    /// Not an agent's work: merge a done TODO's branch into the plan's integration branch and run ``checks`` there.
    public var merge: MergeSpec?
    /// For a TODO taken up again after its worker was lost: what the sessions before did and were doing, from their
    /// agent events; its work so far is in the branch (its checkpoints).
    public var handover: String?
    /// The model a codex session runs, when not the worker's own (an advisor's own model).
    public var model: String?
    /// A Responses API base URL for ``model``, when not the worker's own.
    public var modelBaseURL: String?
    /// For a TODO paused or parked before: the codex thread its last session stored beside its checkpoint
    /// (``ReportBody/threadId``). The new session, on any worker, fetches it and goes on on that thread; when it
    /// cannot, it starts a new one told what happened (``handover``).
    public var resumeThread: String?

    public init(
        title: String,
        command: String?,
        prompt: String?,
        timeoutSeconds: Double?,
        checks: [Check],
        budget: Budget? = nil,
        risk: Risk? = nil,
        permissions: Permissions? = nil,
        repository: String? = nil,
        branch: String? = nil,
        base: String? = nil,
        context: String? = nil,
        output: OutputSpec? = nil,
        dependencies: [DependencyWork]? = nil,
        merge: MergeSpec? = nil,
        handover: String? = nil
    ) {
        self.handover = handover
        self.merge = merge
        self.base = base
        self.context = context
        self.output = output
        self.dependencies = dependencies
        self.risk = risk
        self.permissions = permissions
        self.repository = repository
        self.branch = branch
        self.title = title
        self.command = command
        self.prompt = prompt
        self.timeoutSeconds = timeoutSeconds
        self.checks = checks
        self.budget = budget
    }
}

extension TaskSpec {
    /// What a worker is told of a plan's TODO: the work itself, without what only the scheduler needs (its id,
    /// dependencies, labels and attempts).
    public init(_ todo: Todo, repository: String?, branch: String?, base: String? = nil, context: String? = nil, output: OutputSpec? = nil)
    {
        self.init(
            title: todo.title,
            command: todo.command,
            prompt: todo.prompt,
            timeoutSeconds: todo.timeoutSeconds,
            checks: todo.checks,
            budget: todo.budget,
            risk: todo.risk,
            permissions: todo.permissions,
            repository: repository,
            branch: branch,
            base: base,
            context: context,
            output: output
        )
    }
}

/// The work of a TODO another depends on: where it is and what it did.
public struct DependencyWork: Codable, Sendable, Equatable {
    public var todo: String
    public var title: String
    /// Its branch, holding its work.
    public var branch: String
    /// How it ended (its report's summary).
    public var summary: String?

    public init(todo: String, title: String, branch: String, summary: String? = nil) {
        self.todo = todo
        self.title = title
        self.branch = branch
        self.summary = summary
    }
}

/// The answer a session must end with: JSON of `schema`, read as `step`'s answer. An answer that cannot be used is
/// sent back to the same session with its problems, up to `attempts` answers in all.
public struct OutputSpec: Codable, Sendable, Equatable {
    public var step: AnswerStep
    public var schema: JSONValue
    public var attempts: Int

    public init(step: AnswerStep, attempts: Int = 3) {
        self.step = step
        self.schema = step.schema
        self.attempts = attempts
    }
}

/// `assign`, coordinator → worker: a lease and the work under it.
public struct AssignBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case lease, ttlMs = "ttl_ms", task
    }

    public var lease: LeaseRef
    public var ttlMs: Int64
    public var task: TaskSpec

    public init(lease: LeaseRef, ttlMs: Int64, task: TaskSpec) {
        self.lease = lease
        self.ttlMs = ttlMs
        self.task = task
    }
}

/// `accept` (reason nil) or `reject`, worker → coordinator, the answer to `assign`.
public struct LeaseAnswerBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", epoch, reason
    }

    public var leaseId: String
    public var epoch: Int64
    public var reason: String?

    public init(leaseId: String, epoch: Int64, reason: String? = nil) {
        self.leaseId = leaseId
        self.epoch = epoch
        self.reason = reason
    }
}

/// One normalized agent event: what an agent did, as the coordinator and observers see it.
public struct AgentEvent: Codable, Sendable, Equatable {
    public var kind: AgentEventKind
    /// For output: `stdout` or `stderr`.
    public var stream: String?
    public var text: String?
    /// For `detected`: what the supervisor saw go wrong.
    public var detection: Detection?
    /// For `checkpoint`: the files the TODO's branch has changed so far, which conflict-aware scheduling keeps
    /// apart from the TODOs that may touch them.
    public var files: [String]?
    /// For `thread`, when the session stored its codex thread beside the checkpoint: the thread's id, which the
    /// coordinator keeps for the TODO's next session (``TaskSpec/resumeThread``).
    public var thread: String?
    /// For `usage`: the model tokens the session has used so far under this lease, split as prices are (a running
    /// total: the latest one received supersedes the ones before; the run's report carries the final one).
    public var usage: TokenUsage?
    /// For `usage`: the model that used them.
    public var model: String?

    public init(
        kind: AgentEventKind,
        stream: String? = nil,
        text: String? = nil,
        detection: Detection? = nil,
        files: [String]? = nil,
        thread: String? = nil,
        usage: TokenUsage? = nil,
        model: String? = nil
    ) {
        self.thread = thread
        self.kind = kind
        self.stream = stream
        self.text = text
        self.detection = detection
        self.files = files
        self.usage = usage
        self.model = model
    }
}

/// `progress`, worker → coordinator: agent events under a lease. Best effort: not acked, not retried.
public struct ProgressBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", epoch, events
    }

    public var leaseId: String
    public var epoch: Int64
    public var events: [AgentEvent]

    public init(leaseId: String, epoch: Int64, events: [AgentEvent]) {
        self.leaseId = leaseId
        self.epoch = epoch
        self.events = events
    }
}

/// How a turn (for the command agent: the command) ended.
public enum Outcome: String, Codable, Sendable, CaseIterable {
    /// The work ran and its checks passed.
    case succeeded
    /// The work ran and failed (non-zero exit, or a check failed).
    case failed
    /// The work hit its time limit.
    case timedOut = "timed_out"
    /// The worker gave the TODO back unfinished (it is shutting down); it goes back to the queue.
    case handedBack = "handed_back"
    /// The work was stopped on the coordinator's order.
    case cancelled
    /// The agent stopped because only a human can take it further: its budget is spent, a usage limit was hit with
    /// no reset time known, or an operator said no. The TODO waits in state `escalated`; it is not retried.
    case escalated
    /// A usage limit (or a rate limit asking for a long wait) stopped the work until a known reset time, given in
    /// ``ReportBody/resumeAt``. The TODO waits in state `waiting` and goes on from its checkpoint then; it is not a
    /// failed attempt.
    case parked
    /// The session stopped after its turn because an operator paused it; its work is checkpointed. The TODO waits
    /// in state `paused` until an operator resumes it.
    case paused

    /// Whether the TODO's next session goes on with this session's codex thread: it was paused, parked or handed
    /// back. After any other ending the next session, if there is one, starts a new thread.
    public var continuesThread: Bool { self == .paused || self == .parked || self == .handedBack }
}

/// The result of one acceptance check.
public struct CheckResult: Codable, Sendable, Equatable {
    public var check: String
    public var passed: Bool
    public var detail: String

    public init(check: String, passed: Bool, detail: String) {
        self.check = check
        self.passed = passed
        self.detail = detail
    }
}

/// `report`, worker → coordinator: the outcome of the work under a lease. Kept in the worker's outbox until acked.
public struct ReportBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", epoch, outcome, exitCode = "exit_code", summary, outputTail = "output_tail", durationMs = "duration_ms",
            checks, tokens, files, diffStat = "diff_stat", usage, output, merge, model, resumeAt = "resume_at", threadId = "thread_id"
    }

    public var leaseId: String
    public var epoch: Int64
    public var outcome: Outcome
    public var exitCode: Int32?
    public var summary: String
    /// The last lines of output, bounded.
    public var outputTail: String
    public var durationMs: Int64
    public var checks: [CheckResult]
    /// Model tokens the run used (optional).
    public var tokens: Int64?
    /// Files the TODO's branch changed against the default branch (optional; at most ``WireLimits/maxFiles``).
    public var files: [String]?
    /// How much the TODO's branch changed (optional).
    public var diffStat: DiffStat?
    /// Model tokens the run used, split as prices are (optional; ``tokens`` is their total).
    public var usage: TokenUsage?
    /// The session's answer, when the task asked for one (``TaskSpec/output``): JSON text already read and valid.
    public var output: String?
    /// For a merge task: what the merge came to.
    public var merge: MergeResult?
    /// The model the agent ran, when it ran one (optional).
    public var model: String?
    /// For outcome `parked` (and only then): when the limit resets and the work may go on, epoch milliseconds.
    public var resumeAt: Int64?
    /// The codex thread the session stored beside its checkpoint (ref `refs/drover/threads/<plan>/<todo>`), for a
    /// `paused` or `parked` session: the TODO's next session resumes it (``TaskSpec/resumeThread``).
    public var threadId: String?

    public init(
        leaseId: String,
        epoch: Int64,
        outcome: Outcome,
        exitCode: Int32?,
        summary: String,
        outputTail: String,
        durationMs: Int64,
        checks: [CheckResult],
        tokens: Int64? = nil,
        files: [String]? = nil,
        diffStat: DiffStat? = nil,
        usage: TokenUsage? = nil,
        output: String? = nil,
        merge: MergeResult? = nil,
        model: String? = nil,
        resumeAt: Int64? = nil,
        threadId: String? = nil
    ) {
        self.threadId = threadId
        self.usage = usage
        self.resumeAt = resumeAt
        self.diffStat = diffStat
        self.merge = merge
        self.model = model
        self.output = output
        self.tokens = tokens
        self.files = files
        self.leaseId = leaseId
        self.epoch = epoch
        self.outcome = outcome
        self.exitCode = exitCode
        self.summary = summary
        self.outputTail = outputTail
        self.durationMs = durationMs
        self.checks = checks
    }
}

/// `ack`: the message `ref` was received and processed (or was a duplicate of one that was).
public struct AckBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case ref, leaseId = "lease_id"
    }

    public var ref: String
    public var leaseId: String?

    public init(ref: String, leaseId: String? = nil) {
        self.ref = ref
        self.leaseId = leaseId
    }
}

/// `control`, coordinator → worker: an order about one lease.
public struct ControlBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case action, leaseId = "lease_id", reason, item, decision, text
    }

    public var action: ControlAction
    public var leaseId: String
    public var reason: String
    public var item: String?
    public var decision: Decision?
    public var text: String?

    public init(
        action: ControlAction,
        leaseId: String,
        reason: String,
        item: String? = nil,
        decision: Decision? = nil,
        text: String? = nil
    ) {
        self.action = action
        self.leaseId = leaseId
        self.reason = reason
        self.item = item
        self.decision = decision
        self.text = text
    }
}

/// `bye`, worker → coordinator: the worker is leaving; whatever it still held goes back to the queue.
public struct ByeBody: Codable, Sendable, Equatable {
    public var reason: String

    public init(reason: String) { self.reason = reason }
}

/// `error`: a message was refused. `code` is stable and machine-readable; `message` says what to do.
public struct ErrorBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case code, message, ref, leaseId = "lease_id"
    }

    public var code: ProtocolError.Code
    public var message: String
    /// The id of the refused message, when its header could be read.
    public var ref: String?
    /// For `stale_lease`: the lease the sender must abort.
    public var leaseId: String?

    public init(code: ProtocolError.Code, message: String, ref: String? = nil, leaseId: String? = nil) {
        self.code = code
        self.message = message
        self.ref = ref
        self.leaseId = leaseId
    }
}

/// `submit`, operator → coordinator: a plan to run (already validated by the CLI; validated again on arrival).
public struct SubmitBody: Codable, Sendable, Equatable {
    public var plan: Plan

    public init(plan: Plan) { self.plan = plan }
}

extension TaskSpec {
    /// Whether this task may run in the slot of a session that waits for a recovery decision: an advisor's, which
    /// that session may be waiting for. Without it, a fleet whose every slot holds a session waiting for advice would
    /// wait for ever. The coordinator lends such slots to advisors only (``CoordinatorCore`` `slotsForAdvisors`), and
    /// a worker takes an advisor's task beyond its slots by as many.
    public var usesWaitingSlots: Bool { output?.step == .advise }
}
