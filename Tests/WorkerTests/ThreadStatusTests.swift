import DroverProtocol
import Testing

@testable import Worker

/// `thread/status/changed` read: whether the thread stopped, and what it waits for from Drover.
@Suite struct ThreadStatusTests {
    func status(_ status: JSONValue, thread: String = "th") -> ThreadStatus? {
        ThreadStatus(notification: ["threadId": "th", "status": status], thread: thread)
    }

    @Test func theStatusesCodexSends() {
        #expect(status(.object(["type": "idle"])) == .idle)
        #expect(status(.object(["type": "systemError"])) == .systemError)
        #expect(status(.object(["type": "notLoaded"])) == .notLoaded)
        #expect(status(.object(["type": "active", "activeFlags": .array([])])) == .active(waitingOn: []))
        let flags: JSONValue = .array(["waitingOnApproval", "waitingOnUserInput", "waitingOnSomethingNew"])
        #expect(status(.object(["type": "active", "activeFlags": flags])) == .active(waitingOn: [.approval, .userInput]))
        #expect(status(.object(["type": "active", "activeFlags": .array([])]), thread: "other") == nil, "another thread's status")
        #expect(status(.object(["type": "hibernating"])) == nil)
        #expect(status("idle") == nil)
    }

    @Test func idleAndSystemErrorStopTheThread() {
        #expect(ThreadStatus.idle.stopped && ThreadStatus.systemError.stopped)
        #expect(!ThreadStatus.active(waitingOn: [.approval]).stopped && !ThreadStatus.notLoaded.stopped)
    }

    @Test func aChangeOfWhatTheThreadWaitsForIsAnEvent() {
        let approval = ThreadStatus.active(waitingOn: [.approval])
        #expect(approval.waitingEvent(after: .active(waitingOn: [])) == AgentEvent(kind: .waiting, text: "codex waits for an approval"))
        #expect(
            ThreadStatus.active(waitingOn: [.approval, .userInput]).waitingEvent(after: nil)
                == AgentEvent(kind: .waiting, text: "codex waits for an approval and the user's input")
        )
        #expect(
            ThreadStatus.active(waitingOn: []).waitingEvent(after: approval)
                == AgentEvent(kind: .waiting, text: "codex goes on: it no longer waits")
        )
        #expect(approval.waitingEvent(after: approval) == nil)
        #expect(ThreadStatus.idle.waitingEvent(after: .active(waitingOn: [])) == nil)
    }
}
