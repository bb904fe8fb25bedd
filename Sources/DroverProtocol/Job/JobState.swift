/// Where a job stands: the states of the job lifecycle (`docs/jobs.md`).
///
/// ```
/// classify → investigate → plan → permission_negotiate → execute → finalize → done
///     └──────────(question)───────────────────────────────────────────────────┘
/// ```
/// Any state may end in `failed` or `cancelled`; a job that failed while executing or finalizing goes back to
/// `execute` when an operator takes a TODO of its plan up again. Which state may follow which is the coordinator's rule (`JobTable`);
/// observers must accept states they do not know.
public struct JobState: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A codex session decides what kind of request the goal is.
    public static let classify = JobState(rawValue: "classify")
    /// A codex session reads the repository and writes the context document.
    public static let investigate = JobState(rawValue: "investigate")
    /// A codex session writes the plan.
    public static let plan = JobState(rawValue: "plan")
    /// The operator is asked, once, for the permissions the plan needs.
    public static let permissionNegotiate = JobState(rawValue: "permission_negotiate")
    /// The plan's TODOs run (and are repaired) as any plan's do.
    public static let execute = JobState(rawValue: "execute")
    /// Every TODO of the plan has ended: their work is merged into the integration branch, one at a time, and the
    /// plan's report is made.
    public static let finalize = JobState(rawValue: "finalize")
    public static let done = JobState(rawValue: "done")
    public static let failed = JobState(rawValue: "failed")
    public static let cancelled = JobState(rawValue: "cancelled")

    /// The states in the order a job moves through them, for displays.
    public static let lifecycle: [JobState] = [.classify, .investigate, .plan, .permissionNegotiate, .execute, .finalize, .done]

    /// Whether the job's plan is under way: its TODOs run, or their work is being merged.
    public var isRunningPlan: Bool { self == .execute || self == .finalize }

    /// Whether the job is over.
    public var isTerminal: Bool { self == .done || self == .failed || self == .cancelled }

    /// The step a codex session runs in this state, if any.
    public var step: JobStep? { JobStep(rawValue: rawValue) }
}

/// A step of a job that a codex session runs, read-only, answering with JSON in the step's schema.
public enum JobStep: String, Codable, Sendable, CaseIterable {
    case classify, investigate, plan

    /// The job state the step runs in.
    public var state: JobState { JobState(rawValue: rawValue) }

    /// How the step's answer is read.
    public var answer: AnswerStep { AnswerStep(rawValue: rawValue) ?? .plan }
}

/// What a read-only codex session's JSON answer is read as (``TaskSpec/output``): one of a job's steps, or the
/// recommendations of a plan's AI review (`recommend`, `docs/plans.md`). Each has its schema (`StepSchemas.swift`)
/// and its reader (``read(_:)``); the worker's supervisor and the coordinator read answers through them alone.
public enum AnswerStep: String, Codable, Sendable, CaseIterable {
    case classify, investigate, plan
    /// A plan's AI review: ``Recommendations``.
    case recommend
    /// The advisor of a stuck TODO: ``Advice``.
    case advise
}
