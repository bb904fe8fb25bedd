import Foundation
public import Shared

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
    /// Files its branch changed, relative to the repository's default branch (set by the lease run).
    public var files: [String]?

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
/// The worker calls ``run(task:lease:workdir:events:)`` in a task of its own, one per slot. Cancelling that task
/// means stop now: the session ends its processes and returns with outcome `cancelled`.
public protocol AgentSession: Sendable {
    /// Does the work of one lease and returns how it ended.
    /// - Parameters:
    ///   - events: called with agent events as they happen; the worker forwards them as `progress`.
    ///   - checkpoint: call after each turn: the worker commits and pushes the work so far, so that if this worker
    ///     dies the TODO goes on elsewhere from there.
    ///   - ask: asks a human (through the coordinator's inbox) and waits for the answer.
    func run(
        task: TaskSpec,
        lease: LeaseRef,
        workdir: String,
        events: @escaping @Sendable ([AgentEvent]) -> Void,
        checkpoint: @escaping @Sendable () async -> Void,
        ask: @escaping AskHuman
    ) async -> AgentResult
}

/// An operator's answer to what a session asked.
public struct HumanAnswer: Sendable, Equatable {
    /// `approve`, `deny` or `reply`.
    public var decision: String
    public var text: String?

    public init(decision: String, text: String? = nil) {
        self.decision = decision
        self.text = text
    }
}

/// What a session asks: a human (`approval`, `question`, through the inbox), or the coordinator's policy
/// (`recovery`: may it recover from `detection` by `proposal`?).
public struct Question: Sendable, Equatable {
    public var kind: String
    public var text: String
    public var detection: String?
    public var proposal: String?

    public init(kind: String, text: String, detection: String? = nil, proposal: String? = nil) {
        self.kind = kind
        self.text = text
        self.detection = detection
        self.proposal = proposal
    }
}

/// Asks, and waits for the answer.
public typealias AskHuman = @Sendable (_ question: Question) async -> HumanAnswer

extension AgentSession {
    /// Runs without checkpoints between turns and without a coordinator to ask: recoveries are allowed, approvals
    /// and questions denied.
    public func run(
        task: TaskSpec,
        lease: LeaseRef,
        workdir: String,
        events: @escaping @Sendable ([AgentEvent]) -> Void
    ) async -> AgentResult {
        await run(task: task, lease: lease, workdir: workdir, events: events, checkpoint: {}) { question in
            // Nobody to ask: recoveries are allowed (the session's own budgets still bound them), the rest is denied.
            HumanAnswer(decision: question.kind == "recovery" ? "approve" : "deny", text: "no coordinator to ask here")
        }
    }
}

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
