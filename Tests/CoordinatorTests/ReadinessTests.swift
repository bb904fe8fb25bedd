import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// What `/readyz` answers for each outcome of its round trip to the control socket.
@Suite struct ReadinessTests {
    @Test func aReplyOrARefusalIsReady() {
        let status = StatusBody(instance: "i", seq: 0, plans: [], todos: [], workers: [], counters: [:])
        let ready = Readiness.of(.success(status), timeout: .seconds(2))
        #expect(ready == .ready)
        #expect(ready.body == "ready\n")
        // The coordinator answered, if only to refuse: its loop takes requests.
        #expect(Readiness.of(.failure(ProtocolError(.forbidden, "observers may not")), timeout: .seconds(2)) == .ready)
    }

    @Test func noAnswerInTimeIsNotReadyAndSaysWhy() {
        let silent = Readiness.of(.failure(DroverError(.noReply, "no answer")), timeout: .seconds(2))
        #expect(silent == .notReady("the coordinator's control socket did not answer within 2.0 seconds"))
        #expect(silent.body == "not ready: the coordinator's control socket did not answer within 2.0 seconds\n")
        #expect(Readiness.of(.failure(DroverError(.closed, "closed")), timeout: .seconds(2)) != .ready)
        #expect(Readiness.of(.failure(CancellationError()), timeout: .seconds(2)) == .notReady("shutting down"))
        #expect(Readiness.of(.failure(CocoaError(.fileNoSuchFile)), timeout: .seconds(2)) != .ready)
    }
}
