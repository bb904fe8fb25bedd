/// `ask`, worker → coordinator: something only a human can decide (an approval outside the TODO's policy). Kept in
/// the worker's outbox until acked; the coordinator puts it in the inbox, and the answer comes back as `control`
/// with action `answer`.
public struct AskBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", epoch, item, kind, text, detection, proposal
    }

    public var leaseId: String
    public var epoch: Int64
    /// Unique per worker; the answer names it.
    public var item: String
    /// `approval` or `question` (for a human, through the inbox). `recovery` is the old form of a `recover`
    /// request, still accepted from older workers.
    public var kind: AskKind
    public var text: String
    /// For `recovery`: what went wrong.
    public var detection: Detection?
    /// For `recovery`: what the session would do about it.
    public var proposal: String?

    public init(
        leaseId: String,
        epoch: Int64,
        item: String,
        kind: AskKind,
        text: String,
        detection: Detection? = nil,
        proposal: String? = nil
    ) {
        self.leaseId = leaseId
        self.epoch = epoch
        self.item = item
        self.kind = kind
        self.text = text
        self.detection = detection
        self.proposal = proposal
    }
}

extension AskBody: WireBody {
    public func validate() throws(ProtocolError) {
        try requireLeaseID(leaseId, "lease_id")
        try require(epoch >= 1, "epoch", "must be 1 or more")
        try require(!item.isEmpty && item.utf8.count <= 200, "item", "must be 1 to 200 bytes")
        try require(AskKind.forHumans.contains(kind) || kind == .recovery, "kind", "must be approval, question or recovery")
        try require(kind != .recovery || !(detection?.rawValue ?? "").isEmpty, "detection", "is required for a recovery")
        try requireText(text, "text", max: 16384)
        try requireText(detection?.rawValue, "detection", max: 64)
        try requireText(proposal, "proposal", max: 4096)
    }
}

/// One item waiting for a human.
///
/// Items of kind `permissions` come from a job, not a session: `job` names it, `grants` lists what it asks for,
/// `todo` and `worker` are empty, and `plan` is the job's id.
public struct InboxItem: Codable, Sendable, Equatable {
    public var id: String
    public var plan: String
    public var todo: String
    public var worker: String
    public var kind: AskKind
    public var text: String
    /// Milliseconds since the Unix epoch.
    public var askedAt: Int64
    /// For `permissions`: the job asking.
    public var job: String?
    /// For `permissions`: each grant the job's plan needs, with the TODOs that need it.
    public var grants: [PermissionGrant]?

    enum CodingKeys: String, CodingKey {
        case id, plan, todo, worker, kind, text, askedAt = "asked_at", job, grants
    }

    public init(
        id: String,
        plan: String,
        todo: String,
        worker: String,
        kind: AskKind,
        text: String,
        askedAt: Int64,
        job: String? = nil,
        grants: [PermissionGrant]? = nil
    ) {
        self.job = job
        self.grants = grants
        self.id = id
        self.plan = plan
        self.todo = todo
        self.worker = worker
        self.kind = kind
        self.text = text
        self.askedAt = askedAt
    }
}

/// The reply to `inbox` on the control socket: what waits for an answer.
public struct InboxBody: WireBody, Equatable {
    public var items: [InboxItem]
    public init(items: [InboxItem]) { self.items = items }
    public func validate() throws(ProtocolError) {}
}

/// `answer`, operator → coordinator (control socket): the answer to an inbox item. The reply is `answer` too,
/// with the same body.
///
/// For a `permissions` item: `approve` with no `grants` grants them all; `approve` with `grants` grants those and
/// refuses the rest (their TODOs are skipped, or the plan is made again without them when `replan` is set); `deny`
/// refuses them all and the job ends. `remember` keeps the decision as policy for the job's repository.
public struct AnswerBody: WireBody, Equatable {
    public var item: String
    /// `approve`, `deny`, or `reply` (with `text`).
    public var decision: Decision
    public var text: String?
    /// For `permissions`: the grant ids approved (the rest are refused); nil approves them all.
    public var grants: [String]?
    public var replan: Bool?
    public var remember: Bool?

    public init(item: String, decision: Decision, text: String? = nil, grants: [String]? = nil, replan: Bool? = nil, remember: Bool? = nil)
    {
        self.item = item
        self.decision = decision
        self.text = text
        self.grants = grants
        self.replan = replan
        self.remember = remember
    }

    public func validate() throws(ProtocolError) {
        try require(!item.isEmpty && item.utf8.count <= 200, "item", "must be 1 to 200 bytes")
        try require(Decision.all.contains(decision), "decision", "must be approve, deny or reply")
        try requireText(text, "text", max: 16384)
        try require((grants?.count ?? 0) <= 256, "grants", "has more than 256 entries")
        for grant in grants ?? [] { try requireText(grant, "grants", max: 4096) }
        try require(grants == nil || decision == .approve, "grants", "go with decision approve (the grants approved)")
    }
}
