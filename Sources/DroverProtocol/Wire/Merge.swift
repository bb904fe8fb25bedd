/// A merge of a done TODO's branch into its plan's integration branch, run by a worker as the task of a lease
/// (``TaskSpec/merge``). Merges of a plan run one at a time, in dependency order; each knows the commit the
/// integration branch must be at, so a merge redone after a lost worker is never applied twice.
public struct MergeSpec: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case todo, title, branch, integration, expect, base, baseTag = "base_tag", tag
    }

    /// The TODO whose work is merged.
    public var todo: String
    public var title: String
    /// Its branch, `drover/<plan>/<todo>`.
    public var branch: String
    /// The plan's integration branch, `drover/<plan>/integration`.
    public var integration: String
    /// The commit the integration branch must be at before this merge; nil when it must not exist yet, and is made
    /// from ``base``.
    public var expect: String?
    /// The branch a new integration branch starts from; nil is the default branch.
    public var base: String?
    /// The tag the integration branch's starting commit gets, `drover/<plan>/base`.
    public var baseTag: String
    /// The tag the integration branch gets after this merge, `drover/<plan>/after-<todo>`.
    public var tag: String

    public init(
        todo: String,
        title: String,
        branch: String,
        integration: String,
        expect: String?,
        base: String?,
        baseTag: String,
        tag: String
    ) {
        self.todo = todo
        self.title = title
        self.branch = branch
        self.integration = integration
        self.expect = expect
        self.base = base
        self.baseTag = baseTag
        self.tag = tag
    }
}

/// What a merge came to, in its report (``ReportBody/merge``).
public struct MergeResult: Codable, Sendable, Equatable {
    /// How a merge ended.
    public struct Outcome: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Merged, the integration checks passed, pushed and tagged (or found merged already: a redone merge).
        public static let merged = Outcome(rawValue: "merged")
        /// The branch conflicts with the integration branch: nothing was pushed.
        public static let conflict = Outcome(rawValue: "conflict")
        /// Merged cleanly, but the integration checks failed: nothing was pushed.
        public static let checksFailed = Outcome(rawValue: "checks_failed")
        /// The integration branch is not at the expected commit (someone else moved it): nothing was done.
        public static let moved = Outcome(rawValue: "moved")
    }

    public var outcome: Outcome
    /// The integration branch's commit after the merge (for `merged`), or as found (for `moved`).
    public var head: String?
    /// For `conflict`: the conflicting files.
    public var conflicts: [String]?
    /// For `conflict`: the conflict hunks; for `checks_failed`: the failing output. Bounded.
    public var detail: String?

    public init(outcome: Outcome, head: String? = nil, conflicts: [String]? = nil, detail: String? = nil) {
        self.outcome = outcome
        self.head = head
        self.conflicts = conflicts
        self.detail = detail
    }
}

/// `merge` on the control socket: `skip` leaves a TODO's work out of its plan's integration branch (with a
/// `reason`), and what depends on it; `retry` tries its merge again; `rebase` (no `todo`) queues one more step that
/// merges the plan's base, which moved, into the integration branch. The reply is `merge` with a ``MergeReply``.
public struct MergeRequest: WireBody, Equatable {
    public struct Action: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let skip = Action(rawValue: "skip")
        public static let retry = Action(rawValue: "retry")
        public static let rebase = Action(rawValue: "rebase")

        public static let all: Set<Action> = [.skip, .retry, .rebase]
    }

    public var plan: String
    /// The TODO, for `skip` and `retry`.
    public var todo: String?
    public var action: Action
    public var reason: String?

    public init(plan: String, todo: String?, action: Action, reason: String? = nil) {
        self.plan = plan
        self.todo = todo
        self.action = action
        self.reason = reason
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try require(Action.all.contains(action), "action", "must be skip, retry or rebase")
        if action == .rebase {
            try require(todo == nil, "todo", "goes with skip and retry, not rebase")
        } else {
            try requireID(todo ?? "", "todo")
        }
        try requireText(reason, "reason", max: 4096)
    }
}

/// The reply to `merge`: the state of the TODO's merge now.
public struct MergeReply: WireBody, Equatable {
    public var plan: String
    public var todo: String
    public var state: TodoState

    public init(plan: String, todo: String, state: TodoState) {
        self.plan = plan
        self.todo = todo
        self.state = state
    }

    public func validate() throws(ProtocolError) {}
}

/// `rollback` on the control socket, in two steps around the git work `drover rollback` does itself: `check` says
/// what moving a plan's integration branch back to `tag` (default: the base) would undo and at which commit Drover
/// left the branch; `record`, once the branch is moved (to `head`), marks the TODOs merged after the tag as not
/// integrated (`drover merge retry` queues them again) and records who did it and why. The reply is `rollback` with
/// a ``RollbackReply``, or an `error`: a tag that does not belong to the plan, a merge under way.
public struct RollbackRequest: WireBody, Equatable {
    public struct Step: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let check = Step(rawValue: "check")
        public static let record = Step(rawValue: "record")

        public static let all: Set<Step> = [.check, .record]
    }

    public var plan: String
    public var step: Step
    /// `drover/<plan>/base` or `drover/<plan>/after-<todo>`; nil is the base.
    public var tag: String?
    /// For `record`: the commit the integration branch was moved to.
    public var head: String?
    public var reason: String?
    /// Who did it, for the audit log.
    public var by: String?

    public init(plan: String, step: Step, tag: String? = nil, head: String? = nil, reason: String? = nil, by: String? = nil) {
        self.plan = plan
        self.step = step
        self.tag = tag
        self.head = head
        self.reason = reason
        self.by = by
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try require(Step.all.contains(step), "step", "must be check or record")
        if let tag { try require(GitRef.isValidBranch(tag), "tag", "is not a valid tag name") }
        try require(step != .record || !(head ?? "").isEmpty, "head", "is required to record a rollback")
        try requireText(head, "head", max: 200)
        try requireText(reason, "reason", max: 4096)
        try requireText(by, "by", max: 200)
    }
}

/// The reply to `rollback`.
public struct RollbackReply: WireBody, Equatable {
    public var plan: String
    public var repository: String
    /// The integration branch.
    public var branch: String
    public var tag: String
    /// Where Drover left the branch (the last merge's commit): a rollback is refused if it is elsewhere.
    public var expect: String?
    /// The TODOs merged after the tag, which the rollback takes out.
    public var undone: [String]

    public init(plan: String, repository: String, branch: String, tag: String, expect: String?, undone: [String]) {
        self.plan = plan
        self.repository = repository
        self.branch = branch
        self.tag = tag
        self.expect = expect
        self.undone = undone
    }

    public func validate() throws(ProtocolError) {}
}
