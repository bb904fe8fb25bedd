/// `recover`, worker → coordinator: a session's supervisor saw something go wrong (`detection`) and asks the
/// coordinator's supervisor policy whether it may recover by `proposal`. Kept in the worker's outbox until the
/// `recovery` reply comes; a resend gets the same decision, counted once.
public struct RecoverBody: WireBody, Equatable {
    enum CodingKeys: String, CodingKey {
        case leaseId = "lease_id", epoch, item, detection, proposal, evidence
    }

    public var leaseId: String
    public var epoch: Int64
    /// Unique per worker; the reply names it.
    public var item: String
    public var detection: Detection
    /// What the session would do about it.
    public var proposal: String
    /// What was seen, for the audit trail.
    public var evidence: String

    public init(leaseId: String, epoch: Int64, item: String, detection: Detection, proposal: String, evidence: String) {
        self.leaseId = leaseId
        self.epoch = epoch
        self.item = item
        self.detection = detection
        self.proposal = proposal
        self.evidence = evidence
    }

    public func validate() throws(ProtocolError) {
        try requireLeaseID(leaseId, "lease_id")
        try require(epoch >= 1, "epoch", "must be 1 or more")
        try require(!item.isEmpty && item.utf8.count <= 200, "item", "must be 1 to 200 bytes")
        try require(!detection.rawValue.isEmpty && detection.rawValue.utf8.count <= 64, "detection", "must be 1 to 64 bytes")
        try requireText(proposal, "proposal", max: 4096)
        try requireText(evidence, "evidence", max: 16384)
    }
}

/// `recovery`, coordinator → worker: the supervisor policy's decision on a `recover` request. It is also the
/// request's acknowledgement (`ref` is the request's message id).
public struct RecoveryBody: WireBody, Equatable {
    enum CodingKeys: String, CodingKey {
        case ref, leaseId = "lease_id", item, detection, decision, reason, count, limit, instruction
    }

    public var ref: String
    public var leaseId: String
    public var item: String
    public var detection: Detection
    public var decision: RecoveryDecision
    /// Why, when the decision is `escalate`.
    public var reason: String?
    /// Recoveries of this detection granted to the TODO so far, this one included.
    public var count: Int
    /// How many the policy allows per TODO.
    public var limit: Int
    /// With `recover`: what the session is to do next, instead of its own proposal (the advisor's instruction, or an
    /// operator's answer to the advisor's question).
    public var instruction: String?

    public init(
        ref: String,
        leaseId: String,
        item: String,
        detection: Detection,
        decision: RecoveryDecision,
        reason: String?,
        count: Int,
        limit: Int,
        instruction: String? = nil
    ) {
        self.instruction = instruction
        self.ref = ref
        self.leaseId = leaseId
        self.item = item
        self.detection = detection
        self.decision = decision
        self.reason = reason
        self.count = count
        self.limit = limit
    }

    public func validate() throws(ProtocolError) {
        try require(!ref.isEmpty && ref.utf8.count <= 200, "ref", "must be 1 to 200 bytes")
        try requireLeaseID(leaseId, "lease_id")
        try require(!item.isEmpty && item.utf8.count <= 200, "item", "must be 1 to 200 bytes")
        try require(
            decision == .recover || decision == .escalate,
            "decision",
            "must be recover or escalate"
        )
        try requireText(reason, "reason", max: 4096)
        try requireText(instruction, "instruction", max: 16384)
    }
}
