import Foundation
import Testing

@testable import Worker

/// What a failed turn's message means for recovery, with messages codex writes.
@Suite struct TurnFailureTests {
    @Test(arguments: [
        "Rate limit reached for gpt-5.5. Please try again in 0.3s.",
        "exceeded retry limit, last status: 429 Too Many Requests",
        "We're currently experiencing high demand, which may cause temporary errors.",
        "The model is overloaded.",
        "stream disconnected before completion: stream closed before response.completed",
        "unexpected status 503 Service Unavailable",
        "error sending request for url (http://127.0.0.1:1/v1/responses)",
    ])
    func transientFailures(message: String) {
        #expect(TurnFailure(message: message).kind == .transient)
    }

    @Test(arguments: [
        "You\u{2019}ve hit your usage limit. Upgrade to Plus to continue.",
        "Quota exceeded. Check your plan and billing details.",
        "usage_not_included",
    ])
    func usageLimits(message: String) {
        #expect(TurnFailure(message: message).kind == .usageLimit)
    }

    @Test(arguments: ["Your input exceeds the context window of this model.", "context_length_exceeded"])
    func aFullContext(message: String) {
        #expect(TurnFailure(message: message).kind == .contextFull)
    }

    @Test(arguments: ["invalid_api_key: Incorrect API key provided", "The model `gpt-9` does not exist", ""])
    func fatalFailures(message: String) {
        #expect(TurnFailure(message: message).kind == .fatal)
    }

    @Test func theDelayTheServerAskedFor() {
        #expect(TurnFailure(message: "Rate limit reached. Please try again in 0.2s.").retryAfter == .milliseconds(200))
        #expect(TurnFailure(message: "Please try again in 1500ms.").retryAfter == .milliseconds(1500))
        #expect(TurnFailure(message: "Please Try Again In 2s").retryAfter == .seconds(2))
        #expect(TurnFailure(message: "Rate limit reached.").retryAfter == nil)
        #expect(TurnFailure(message: "try again in a moment").retryAfter == nil)
    }

    @Test func aDelayOfSeveralUnits() {
        #expect(TurnFailure(message: "Please try again in 6m0s.").retryAfter == .seconds(360))
        #expect(TurnFailure(message: "try again in 1h2m3s").retryAfter == .seconds(3723))
        #expect(TurnFailure(message: "try again in 20 seconds").retryAfter == .seconds(20))
        #expect(TurnFailure(message: "try again in 5 minutes.").retryAfter == .seconds(300))
        #expect(TurnFailure(message: "try again in 2 hours 30 minutes").retryAfter == .seconds(9000))
        #expect(TurnFailure(message: "try again in 2").retryAfter == .seconds(2))
    }

    static let now = Date(timeIntervalSince1970: 1_900_000_000)  // 2030-03-17T17:46:40Z
    static let newYork = TimeZone(identifier: "America/New_York")!
    static let utc = TimeZone(identifier: "UTC")!

    func resetsAt(_ message: String, in zone: TimeZone = utc) -> Date? {
        TurnFailure(message: message, now: Self.now, timeZone: zone).resetsAt
    }

    /// codex writes the reset in its process's local zone and names none: it is read in the worker's (codex inherits
    /// its environment), here given explicitly.
    @Test func theResetTimeCodexWritesIsReadInTheLocalZone() {
        let message =
            "You\u{2019}ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at Mar 18th, 2030 5:46 PM."
        #expect(TurnFailure(message: message).kind == .usageLimit)
        // 17:46 in UTC, and in New York (UTC-4 in March 2030, daylight saving time); the end of that minute, as codex
        // cuts the seconds off.
        #expect(resetsAt(message) == Date(timeIntervalSince1970: 1_900_000_000 - 40 + 86_400 + 60))
        #expect(resetsAt(message, in: Self.newYork) == Date(timeIntervalSince1970: 1_900_000_000 - 40 + 86_400 + 4 * 3600 + 60))
        #expect(resetsAt("You've hit your usage limit. Try again at Jan 1st, 2031 12:05 AM.") == Date(timeIntervalSince1970: 1_924_992_360))
    }

    @Test func aResetOnTheSameDayIsWrittenAsATimeOnly() {
        // Same day: "Try again at 11:30 PM." (2030-03-17 23:30 UTC).
        #expect(
            resetsAt("You've hit your usage limit. Try again at 11:30 PM.")
                == Date(timeIntervalSince1970: 1_900_000_000 - 40 - 17 * 3600 - 46 * 60 + 23 * 3600 + 31 * 60)
        )
        // 12:15 PM New York is 16:15 UTC, on the same day there (it is 13:46 there now).
        #expect(
            resetsAt("You've hit your usage limit. Try again at 12:15 PM.", in: Self.newYork)
                == Date(timeIntervalSince1970: 1_900_000_000 - 40 - 17 * 3600 - 46 * 60 + 16 * 3600 + 16 * 60)
        )
    }

    @Test func theServersResetTimeWinsWhenItsBodyIsThere() {
        let message = #"unexpected status 429: {"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":1900000600}}"#
        #expect(TurnFailure(message: message).kind == .usageLimit)
        #expect(resetsAt(message) == Date(timeIntervalSince1970: 1_900_000_600))
        #expect(resetsAt(#"usage limit reached {"resets_in_seconds": 90}"#) == Self.now.addingTimeInterval(90))
    }

    @Test func aRateLimitsResetIsItsDelayOrItsBodysTime() {
        #expect(resetsAt("Rate limit reached. Please try again in 20m.") == Self.now.addingTimeInterval(1200))
        let failure = TurnFailure(message: #"429 Too Many Requests {"resets_at":1900000600}"#, now: Self.now, timeZone: Self.utc)
        #expect(failure.kind == .transient)
        #expect(failure.resetIn == .seconds(600))
    }

    @Test(arguments: [
        "You've hit your usage limit. Try again later.",
        "Quota exceeded. Check your plan and billing details.",
        "You've hit your usage limit. Try again at sometime.",
        "invalid_api_key: try again at 5:46 PM",
    ])
    func noResetTimeIsKnown(message: String) {
        #expect(resetsAt(message) == nil)
    }

    @Test func theMessageIsKept() {
        let failure = TurnFailure(message: "Rate limit reached")
        #expect(failure.message == "Rate limit reached")
        #expect(failure == TurnFailure(message: "Rate limit reached"))
    }
}
