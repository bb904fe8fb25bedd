import Foundation

/// `job` on the control socket: start a job from a goal, list jobs, show one, cancel one, or get its plan. The reply
/// is `job` with a ``JobsBody``, or an `error` saying what is wrong.
public struct JobRequest: WireBody, Equatable {
    /// What an operator does with jobs.
    public struct Action: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Start a job: `goal` and `repository` are required, `base` and `job` (its id) optional.
        public static let start = Action(rawValue: "start")
        public static let list = Action(rawValue: "list")
        /// One job with its history and artifacts.
        public static let show = Action(rawValue: "show")
        /// Stop the job: its running step or TODOs are cancelled.
        public static let cancel = Action(rawValue: "cancel")

        public static let all: Set<Action> = [.start, .list, .show, .cancel]
    }

    public var action: Action
    public var job: String?
    public var goal: String?
    public var repository: String?
    public var base: String?

    public init(action: Action, job: String? = nil, goal: String? = nil, repository: String? = nil, base: String? = nil) {
        self.action = action
        self.job = job
        self.goal = goal
        self.repository = repository
        self.base = base
    }

    /// The longest job id: the job's steps run as plans named `<job>-<step>`, which must be ids too.
    public static let maxJobIDLength = 48

    public func validate() throws(ProtocolError) {
        try require(Action.all.contains(action), "action", "must be start, list, show or cancel")
        if let job {
            try requireID(job, "job")
            try require(job.utf8.count <= Self.maxJobIDLength, "job", "is longer than \(Self.maxJobIDLength) characters")
        }
        switch action {
        case .start:
            let goal = (goal ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            try require(!goal.isEmpty, "goal", "is empty: say what the job should achieve")
            try requireText(goal, "goal", max: 16384)
            try require(!(repository ?? "").isEmpty, "repository", "is required: the git repository to work in")
            try requireText(repository, "repository", max: 4096)
            if let base { try require(GitRef.isValidBranch(base), "base", "\"\(base)\" is not a valid branch name") }
        case .show, .cancel:
            try require(job != nil, "job", "is required")
        default:
            break
        }
    }
}

/// The reply to `job`: the jobs asked about (one for start, show and cancel).
public struct JobsBody: WireBody, Equatable {
    public var jobs: [JobView]

    public init(jobs: [JobView]) { self.jobs = jobs }

    public static var maxBytes: Int { WireLimits.documentBytes }
    public func validate() throws(ProtocolError) {}
}

/// A job as operators see it.
public struct JobView: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id, goal, repository, base, state, reason, createdAt = "created_at", updatedAt = "updated_at", transitions,
            classification, context, plan, grants, permissions, skipped, answer, step, counts, inboxItem = "inbox_item",
            tokens, costUSD = "cost_usd", spend
    }

    public var id: String
    public var goal: String
    public var repository: String
    public var base: String?
    public var state: JobState
    /// Why it is where it is: the reason of the last transition.
    public var reason: String
    /// Milliseconds since the Unix epoch.
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Every transition, oldest first (empty in lists).
    public var transitions: [JobTransition]
    /// The artifacts of the steps so far.
    public var classification: Classification?
    /// The context document from INVESTIGATE.
    public var context: String?
    /// The plan from PLAN (its TODOs run as the plan with the job's id).
    public var plan: Plan?
    /// The grants the plan needs.
    public var grants: [PermissionGrant]?
    /// What was decided about them.
    public var permissions: PermissionDecision?
    /// The plan's TODOs left out because they need a refused grant, or depend on one that does.
    public var skipped: [String]?
    /// For a question: the answer.
    public var answer: String?
    /// The plan running the current step (`<job>-<step>`), while one runs.
    public var step: String?
    /// The job's plan's TODOs by state, once it executes.
    public var counts: [String: Int]?
    /// The inbox item waiting for the operator's permission decision.
    public var inboxItem: String?
    /// Model tokens of all its plans so far (its steps, its plan, their merges and advisors); nil before any.
    public var tokens: Int64?
    /// What they cost, in US dollars, by the coordinator's price table; nil when no price is known.
    public var costUSD: Double?
    /// The same per plan, in the order they ran (only in a full view).
    public var spend: [PlanSpend]?

    public init(
        id: String,
        goal: String,
        repository: String,
        base: String? = nil,
        state: JobState,
        reason: String,
        createdAt: Int64,
        updatedAt: Int64,
        transitions: [JobTransition] = []
    ) {
        self.id = id
        self.goal = goal
        self.repository = repository
        self.base = base
        self.state = state
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.transitions = transitions
    }
}

/// One move of a job from a state to the next, with why.
public struct JobTransition: Codable, Sendable, Equatable {
    /// nil for the job's first state.
    public var from: JobState?
    public var to: JobState
    public var reason: String
    /// What the decision rested on (the step's artifact summary, the problems, the grants…).
    public var evidence: [String: JSONValue]
    /// Milliseconds since the Unix epoch.
    public var at: Int64

    public init(from: JobState?, to: JobState, reason: String, evidence: [String: JSONValue] = [:], at: Int64) {
        self.from = from
        self.to = to
        self.reason = reason
        self.evidence = evidence
        self.at = at
    }
}

/// `policy` on the control socket: the permission decisions remembered per repository. `list` them (all, or one
/// repository's), or `forget` one repository's (all its grants, or one). The reply is `policy` with a ``PolicyBody``.
public struct PolicyRequest: WireBody, Equatable {
    public struct Action: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let list = Action(rawValue: "list")
        public static let forget = Action(rawValue: "forget")

        public static let all: Set<Action> = [.list, .forget]
    }

    public var action: Action
    public var repository: String?
    public var grant: String?

    public init(action: Action, repository: String? = nil, grant: String? = nil) {
        self.action = action
        self.repository = repository
        self.grant = grant
    }

    public func validate() throws(ProtocolError) {
        try require(Action.all.contains(action), "action", "must be list or forget")
        try requireText(repository, "repository", max: 4096)
        try requireText(grant, "grant", max: 4096)
        if action == .forget { try require(repository != nil, "repository", "is required to forget") }
    }
}

/// The reply to `policy`: the remembered decisions (for `forget`: the ones forgotten).
public struct PolicyBody: WireBody, Equatable {
    public var rules: [PolicyRule]

    public init(rules: [PolicyRule]) { self.rules = rules }
    public func validate() throws(ProtocolError) {}
}

/// One remembered decision: a grant approved or denied for a repository.
public struct PolicyRule: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case repository, grant, decision, decidedAt = "decided_at", job
    }

    public var repository: String
    public var grant: String
    /// `approve` or `deny`.
    public var decision: Decision
    /// Milliseconds since the Unix epoch.
    public var decidedAt: Int64
    /// The job whose answer it was.
    public var job: String

    public init(repository: String, grant: String, decision: Decision, decidedAt: Int64, job: String) {
        self.repository = repository
        self.grant = grant
        self.decision = decision
        self.decidedAt = decidedAt
        self.job = job
    }
}

/// Git reference names, as far as Drover needs to check them before git does.
public enum GitRef {
    /// Whether `name` can be a branch name (`git check-ref-format --branch`, in short).
    public static func isValidBranch(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix("-"), !name.hasPrefix("/"), !name.hasSuffix("/"),
            !name.hasSuffix("."), !name.hasSuffix(".lock"), !name.contains(".."), !name.contains("//"), !name.contains("@{"),
            name != "@"
        else { return false }
        return !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || " ~^:?*[\\".unicodeScalars.contains($0) }
    }
}

/// What one plan's model tokens came to.
public struct PlanSpend: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey { case plan, tokens, costUSD = "cost_usd" }

    public var plan: String
    public var tokens: Int64
    /// US dollars by the coordinator's price table; nil when no price is known.
    public var costUSD: Double?

    public init(plan: String, tokens: Int64, costUSD: Double?) {
        self.plan = plan
        self.tokens = tokens
        self.costUSD = costUSD
    }
}
