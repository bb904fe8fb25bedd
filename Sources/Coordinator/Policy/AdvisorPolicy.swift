public import DroverProtocol

/// When the rules have run out and the coordinator asks an advisor (a read-only codex session, ``AdvisorPlan``)
/// what a stuck TODO should do next: the same checks still failing after two repairs, a loop that survived a steer,
/// the same question twice. At most ``limit`` pieces of advice per TODO; off with `--advisor none`, in which case the
/// recovery rules alone decide (and questions still reach a human, by the session's own rules).
public struct AdvisorPolicy: Sendable, Equatable {
    /// Whether an advisor is asked at all.
    public var enabled: Bool
    /// Pieces of advice per TODO, over all its sessions.
    public var limit: Int
    /// The advisor session's token budget per piece of advice; nil: no budget beyond its turns.
    public var tokens: Int?
    /// The model the advisor runs, when not the workers' own.
    public var model: String?
    /// A Responses API base URL for the advisor's model, when not the workers' own.
    public var modelBaseURL: String?
    /// After how many recoveries of a kind the next one asks the advisor.
    public var after: [Detection: Int]

    /// The recoveries after which the rules have run out.
    public static let defaultAfter: [Detection: Int] = [.stoppedEarly: 2, .checksFailed: 2, .looping: 1, .asksHuman: 1]

    public init(
        enabled: Bool = true,
        limit: Int = 2,
        tokens: Int? = nil,
        model: String? = nil,
        modelBaseURL: String? = nil,
        after: [Detection: Int] = AdvisorPolicy.defaultAfter
    ) {
        self.enabled = enabled
        self.limit = limit
        self.tokens = tokens
        self.model = model
        self.modelBaseURL = modelBaseURL
        self.after = after
    }

    /// Whether a recovery request of `detection`, after `granted` of its kind and `advised` pieces of advice, goes
    /// to the advisor.
    public func asks(_ detection: Detection, granted: Int, advised: Int) -> Bool {
        guard enabled, advised < limit, let threshold = after[detection] else { return false }
        return granted >= threshold
    }
}
