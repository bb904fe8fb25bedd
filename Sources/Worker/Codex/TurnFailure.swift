import DroverProtocol
import Foundation

/// What a failed codex turn means for recovery, read from codex's message.
public struct TurnFailure: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Rate limits, overload, 5xx, a dropped or silent stream: wait and try the turn again.
        case transient
        /// The account's usage limit or quota: nothing to do but wait for the reset (parked until ``resetsAt``) or, when
        /// it is not known, a human.
        case usageLimit = "usage_limit"
        /// The context window is full: start a new thread seeded with a summary.
        case contextFull = "context_full"
        /// Anything else (bad credentials, bad request, unknown model): retrying will not help.
        case fatal
    }

    public var kind: Kind
    public var message: String
    /// The delay the server asked for ("try again in 0.2s"), when it asked.
    public var retryAfter: Duration?
    /// When the limit resets, when the message says (``ResetTime``): for a usage limit, or a rate limit that names
    /// its wait.
    public var resetsAt: Date?
    /// How far away ``resetsAt`` was when the failure was read.
    public var resetIn: Duration?

    /// The failure `message` says, its reset time read at `now` in `timeZone` (codex's, which is the worker's).
    public init(message: String, now: Date = Date(), timeZone: TimeZone = .current) {
        self.message = message
        // codex 0.163 writes typographic apostrophes in some messages; compare plain text.
        let text = message.replacingOccurrences(of: "\u{2019}", with: "'").lowercased()
        func has(_ parts: String...) -> Bool { parts.contains { text.contains($0) } }
        if has("context window", "context_length_exceeded") {
            kind = .contextFull
        } else if has("usage limit", "usage_limit_reached", "quota exceeded", "insufficient_quota", "upgrade to plus", "usage_not_included")
        {
            kind = .usageLimit
        } else if has(
            "rate limit",
            "429",
            "too many requests",
            "high demand",
            "at capacity",
            "overloaded",
            "stream disconnected",
            "idle timeout",
            "unexpected status 5",
            "error sending request",
            "internal server error",
            "temporar"
        ) {
            kind = .transient
        } else {
            kind = .fatal
        }
        retryAfter = ResetTime.delay(in: text)
        resetsAt = kind == .usageLimit || kind == .transient ? ResetTime.read(message, now: now, timeZone: timeZone) : nil
        resetIn = resetsAt.map { .milliseconds(Int64(($0.timeIntervalSince(now) * 1000).rounded())) }
    }
}
