public import DroverProtocol

/// The supervisor policy's rule for recoveries: a TODO may recover from each kind of trouble a limited number of
/// times, counted across all its sessions and workers (and kept in the state file); past the limit, it escalates.
public struct RecoveryPolicy: Sendable, Equatable {
    /// How many recoveries of each detection a TODO may have.
    public var limits: [Detection: Int]
    /// The limit for detections ``limits`` does not name.
    public var defaultLimit: Int

    /// The limits a coordinator starts with.
    public static let defaultLimits: [Detection: Int] = [
        .stoppedEarly: 3, .checksFailed: 3, .hung: 2, .looping: 2, .crashed: 2, .transientError: 5, .contextFull: 1, .asksHuman: 3,
    ]

    public init(limits: [Detection: Int] = RecoveryPolicy.defaultLimits, defaultLimit: Int = 2) {
        self.limits = limits
        self.defaultLimit = defaultLimit
    }

    /// The limit for one detection.
    public func limit(for detection: Detection) -> Int { limits[detection] ?? defaultLimit }

    /// What the policy decided, and the figures it decided on.
    public struct Verdict: Sendable, Equatable {
        public var decision: RecoveryDecision
        /// Recoveries of this detection granted so far, this one included when it is granted.
        public var count: Int
        public var limit: Int
        /// Why not, when the decision is `escalate`.
        public var reason: String?
    }

    /// Decides one request, given how many recoveries of `detection` the TODO has had.
    public func decide(_ detection: Detection, used: Int) -> Verdict {
        let limit = limit(for: detection)
        guard used < limit else {
            return Verdict(
                decision: .escalate,
                count: used,
                limit: limit,
                reason: "the limit of \(limit) \(detection) recoveries for this TODO is reached"
            )
        }
        return Verdict(decision: .recover, count: used + 1, limit: limit, reason: nil)
    }
}
