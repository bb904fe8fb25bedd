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

    @Test func theMessageIsKept() {
        let failure = TurnFailure(message: "Rate limit reached")
        #expect(failure.message == "Rate limit reached")
        #expect(failure == TurnFailure(message: "Rate limit reached"))
    }
}
