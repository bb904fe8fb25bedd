import DroverProtocol
import Testing

@testable import Worker

/// A turn whose thread stopped without `turn/completed`: when to read the thread, and what its `thread/read` says.
@Suite struct StalledTurnCheckTests {
    let start = ContinuousClock.now

    func read(_ turns: [JSONValue]) -> JSONValue {
        .object(["thread": .object(["id": "th", "status": .object(["type": "idle"]), "turns": .array(turns)])])
    }

    func turn(_ id: String, _ status: String, items: [JSONValue] = [], error: String? = nil) -> JSONValue {
        var turn: [String: JSONValue] = ["id": .string(id), "status": .string(status), "items": .array(items)]
        if let error { turn["error"] = .object(["message": .string(error)]) }
        return .object(turn)
    }

    @Test func theThreadIsReadOnlyAGraceAfterItStopped() {
        var check = StalledTurnCheck(grace: .seconds(5))
        #expect(!check.isDue(at: start + .seconds(60)), "a running thread is not read")
        check.observe(.active(waitingOn: []), at: start)
        check.observe(.idle, at: start + .seconds(1))
        #expect(!check.isDue(at: start + .seconds(5)))
        #expect(check.isDue(at: start + .seconds(6)))
        check.observe(.idle, at: start + .seconds(4))
        #expect(check.isDue(at: start + .seconds(6)), "a second idle does not restart the grace")
        check.observe(.active(waitingOn: []), at: start + .seconds(7))
        #expect(!check.isDue(at: start + .seconds(60)), "running again")
        check.observe(.systemError, at: start + .seconds(8))
        #expect(check.systemError)
        check.keepWaiting(at: start + .seconds(13))
        #expect(!check.isDue(at: start + .seconds(17)) && check.isDue(at: start + .seconds(18)))
    }

    @Test func anEndedTurnIsTakenFromThreadRead() {
        let check = StalledTurnCheck(grace: .seconds(5))
        let items: [JSONValue] = [
            .object(["type": "userMessage", "id": "u"]), .object(["type": "agentMessage", "id": "m1", "text": "first"]),
            .object(["type": "commandExecution", "id": "c", "command": "ls"]),
            .object(["type": "agentMessage", "id": "m2", "text": "Done."]),
        ]
        let usage: [String: JSONValue] = ["input_tokens": 10]
        let completed = check.verdict(
            read: read([turn("t0", "completed"), turn("t1", "completed", items: items)]),
            thread: "th",
            turnID: "t1",
            usage: usage
        )
        #expect(
            completed
                == .ended([.item(phase: "completed", type: "agent_message", fields: ["text": "Done."]), .turnCompleted(usage: usage)])
        )
        let failed = check.verdict(read: read([turn("t1", "failed", error: "boom")]), thread: "th", turnID: "t1", usage: [:])
        #expect(failed == .ended([.turnFailed(message: "boom")]))
        let interrupted = check.verdict(read: read([turn("t1", "interrupted")]), thread: "th", turnID: nil, usage: [:])
        #expect(interrupted == .ended([]), "no end: resumed like a crash")
    }

    @Test func aTurnStillInProgressIsWaitedForUnlessTheThreadReportedASystemError() {
        var check = StalledTurnCheck(grace: .seconds(5))
        let running = read([turn("t1", "inProgress")])
        #expect(check.verdict(read: running, thread: "th", turnID: "t1", usage: [:]) == .keepWaiting)
        #expect(check.verdict(read: nil, thread: "th", turnID: "t1", usage: [:]) == .keepWaiting, "an unreadable thread")
        #expect(check.verdict(read: read([turn("t0", "completed")]), thread: "th", turnID: "t1", usage: [:]) == .keepWaiting)
        check.observe(.systemError, at: start)
        #expect(
            check.verdict(read: running, thread: "th", turnID: "t1", usage: [:])
                == .ended([
                    .turnFailed(
                        message:
                            "codex reported a system error on thread th, and its turn t1 never ended (thread/read shows it inProgress); "
                            + "the codex app-server's log may say why"
                    )
                ])
        )
        guard case .ended(let events) = check.verdict(read: nil, thread: "th", turnID: nil, usage: [:]) else {
            Issue.record("a system error with no readable turn fails it")
            return
        }
        #expect(events.first?.agentEvent.text?.contains("thread/read does not show it") == true)
    }
}
