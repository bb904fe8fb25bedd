import Testing

@testable import Worker

/// The app-server says "Server overloaded; retry later." (`-32001`) when its ingress is saturated: the request is
/// sent again, a few times, backing off; any other error response is final.
@Suite struct AppServerRetryTests {
    @Test func onlyAnOverloadedServerIsAskedAgainBackingOffFiveTimes() {
        let overloaded = AppServerConnection.RPCError(code: -32001, message: "Server overloaded; retry later.")
        let delays = (1...6).map { AppServerConnection.retryDelay(after: overloaded, attempt: $0) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), nil, nil])
        for code: Int64? in [-32600, -32601, -32602, -32603, nil] {
            let error = AppServerConnection.RPCError(code: code, message: "no active turn to steer")
            #expect(AppServerConnection.retryDelay(after: error, attempt: 1) == nil, "\(String(describing: code)) is final")
        }
    }
}
