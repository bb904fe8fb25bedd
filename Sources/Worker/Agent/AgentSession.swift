public import DroverProtocol
import Foundation

/// What an agent run ends with.
public struct AgentResult: Sendable, Equatable {
    public var outcome: Outcome
    public var exitCode: Int32?
    /// One line for people: what happened.
    public var summary: String
    /// The last of the output, bounded.
    public var outputTail: String
    public var checks: [CheckResult]
    /// Model tokens the session used, when it ran a model.
    public var tokens: Int64?
    /// Files its branch changed, relative to its base (set by the lease run; nil for a detached worktree).
    public var files: [String]?
    /// How much its branch changed (set by the lease run with ``files``).
    public var diffStat: DiffStat?
    /// Model tokens, split as prices are, when it ran a model.
    public var usage: TokenUsage?
    /// The session's answer, when the task asked for one (``TaskSpec/output``): JSON text that was read and could be
    /// used.
    public var output: String?
    /// What a merge task came to (``TaskSpec/merge``); nil for any other task.
    public var merge: MergeResult?
    /// The model the session ran, when it ran one.
    public var model: String?
    /// For outcome `parked`: when the limit resets and the work may go on, epoch milliseconds.
    public var resumeAt: Int64?
    /// The codex thread stored for the TODO's next session (a paused or parked session's, ``ThreadKeeper``).
    public var threadID: String?

    public init(outcome: Outcome, exitCode: Int32? = nil, summary: String, outputTail: String = "", checks: [CheckResult] = []) {
        self.outcome = outcome
        self.exitCode = exitCode
        self.summary = summary
        self.outputTail = outputTail
        self.checks = checks
    }
}

/// The one seam between a worker slot and the agent doing the work: ``CommandAgent``, ``CodexAgent``, or
/// ``PromptOrCommandAgent`` choosing between them per TODO.
///
/// The worker calls ``run(task:lease:workdir:context:)`` in a task of its own, one per slot. Cancelling that task
/// means stop now: the session ends its processes and returns with outcome `cancelled`.
public protocol AgentSession: Sendable {
    /// Does the work of one lease and returns how it ended; `context` is how it talks to the rest of Drover.
    func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult
}

extension AgentSession {
    /// Runs with no coordinator to ask (``AgentContext/standalone(events:)``).
    public func run(
        task: TaskSpec,
        lease: LeaseRef,
        workdir: String,
        events: @escaping @Sendable ([AgentEvent]) -> Void
    ) async -> AgentResult {
        await run(task: task, lease: lease, workdir: workdir, context: .standalone(events: events))
    }
}

/// How a running session talks to the rest of Drover: its events out, checkpoints, the two kinds of question it may
/// ask (a human, through the inbox; the supervisor policy, about a recovery), and what an operator says to it.
public struct AgentContext: Sendable {
    /// Called with agent events as they happen; the worker forwards them as `progress`.
    public var events: @Sendable ([AgentEvent]) -> Void
    /// Call after each turn: the worker commits and pushes the work so far, so that if this worker dies the TODO
    /// goes on elsewhere from there.
    public var checkpoint: @Sendable () async -> Void
    /// Asks a human (through the coordinator's inbox) and waits for the answer.
    public var ask: AskHuman
    /// Asks the coordinator's supervisor policy whether the session may recover from what went wrong.
    public var recover: AskPolicy
    /// An operator's guidance and pause requests for the session, as they arrive.
    public var operatorInput: OperatorChannel
    /// Where the session's codex thread is stored and found again (a TODO on a branch); nil: nowhere.
    public var threads: ThreadKeeper?

    public init(
        events: @escaping @Sendable ([AgentEvent]) -> Void,
        checkpoint: @escaping @Sendable () async -> Void = {},
        ask: @escaping AskHuman,
        recover: @escaping AskPolicy,
        operatorInput: OperatorChannel = OperatorChannel()
    ) {
        self.events = events
        self.checkpoint = checkpoint
        self.ask = ask
        self.recover = recover
        self.operatorInput = operatorInput
    }

    /// A session with no coordinator to ask: recoveries are allowed (the session's own budgets still bound them),
    /// approvals and questions denied, and no checkpoints.
    public static func standalone(events: @escaping @Sendable ([AgentEvent]) -> Void) -> AgentContext {
        AgentContext(
            events: events,
            ask: { _ in HumanAnswer(decision: .deny, text: "no coordinator to ask here") },
            recover: { _ in RecoveryVerdict(decision: .recover, reason: nil) }
        )
    }
}

/// An operator's answer to what a session asked.
public struct HumanAnswer: Sendable, Equatable {
    public var decision: Decision
    public var text: String?

    public init(decision: Decision, text: String? = nil) {
        self.decision = decision
        self.text = text
    }
}

/// What a session asks a human, through the inbox.
public struct Question: Sendable, Equatable {
    public var kind: AskKind
    public var text: String

    public init(kind: AskKind, text: String) {
        self.kind = kind
        self.text = text
    }
}

/// Asks, and waits for the answer.
public typealias AskHuman = @Sendable (_ question: Question) async -> HumanAnswer

/// What a session's supervisor asks the coordinator's policy: may it recover from `detection` by `proposal`?
public struct RecoveryRequest: Sendable, Equatable {
    public var detection: Detection
    public var evidence: String
    public var proposal: String

    public init(detection: Detection, evidence: String, proposal: String) {
        self.detection = detection
        self.evidence = evidence
        self.proposal = proposal
    }
}

/// The policy's answer to a ``RecoveryRequest``.
public struct RecoveryVerdict: Sendable, Equatable {
    public var decision: RecoveryDecision
    /// Why not, when the decision is `escalate`.
    public var reason: String?
    /// With `recover`: what the session is to do next (the advisor's instruction, or an operator's answer to it).
    public var instruction: String?

    public init(decision: RecoveryDecision, reason: String?, instruction: String? = nil) {
        self.decision = decision
        self.reason = reason
        self.instruction = instruction
    }
}

/// Asks the supervisor policy, and waits for its decision.
public typealias AskPolicy = @Sendable (_ request: RecoveryRequest) async -> RecoveryVerdict

extension LeaseRef {
    /// The worker's environment plus what tells a TODO's processes which lease they run under:
    /// `DROVER_PLAN`, `DROVER_TODO`, `DROVER_EPOCH`.
    func environment(adding extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["DROVER_PLAN"] = plan
        environment["DROVER_TODO"] = todo
        environment["DROVER_EPOCH"] = String(epoch)
        return environment
    }
}
