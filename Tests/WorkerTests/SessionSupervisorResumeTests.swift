import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// A session that goes on on the thread of the TODO's session before (paused or parked), and what it does when codex
/// does not resume that thread.
@Suite struct SessionSupervisorResumeTests {
    let cases = SessionSupervisorTests()
    static let resumePrompt = SessionPrompts.resumed(workdir: "/w/t", handover: "An operator paused the session before this one.")

    func resuming() -> SessionSupervisor {
        var supervisor = cases.supervisor()
        supervisor.resume(thread: "old", prompt: Self.resumePrompt)
        return supervisor
    }

    @Test func theFirstTurnResumesTheThreadWithTheShortPromptNotTheTask() {
        var supervisor = resuming()
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: Self.resumePrompt, threadID: "old"))
        #expect(Self.resumePrompt.contains("on this same thread"))
        #expect(Self.resumePrompt.contains("working directory /w/t"))
        #expect(Self.resumePrompt.hasSuffix("What happened meanwhile:\nAn operator paused the session before this one."))
        #expect(!Self.resumePrompt.contains(SessionSupervisorTests.prompt))
        #expect(supervisor.turnEnded(cases.completed(thread: "old")) == .runChecks)
        #expect(supervisor.state.threadID == "old")
        #expect(supervisor.state.turns == 1)
    }

    @Test func aThreadCodexCouldNotResumeGivesANewThreadWithTheTaskAndTheTurnIsNotCounted() {
        var supervisor = resuming()
        _ = supervisor.nextTurn(elapsed: .zero)
        var turn = TurnReport(ending: nil, threadID: nil, status: 1)
        turn.tail = "Error: thread/resume failed: no rollout found for thread id old"
        guard case .continue(nil, let report) = supervisor.turnEnded(turn) else {
            Issue.record("expected the session to go on")
            return
        }
        let said = report.first?.text ?? ""
        #expect(report.first?.kind == .thread)
        #expect(said.hasPrefix("could not resume codex thread old (codex ran no thread: Error: thread/resume failed"), "\(said)")
        #expect(said.hasSuffix("a new thread instead, told what happened before"))
        #expect(supervisor.state.turns == 0, "that turn is not counted")
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: SessionSupervisorTests.prompt, threadID: nil))
        #expect(supervisor.turnEnded(cases.completed(thread: "new")) == .runChecks)
        #expect(supervisor.state.threadID == "new")
    }

    @Test func aTurnOnAnotherThreadIsNotTakenForTheResumedOne() {
        var supervisor = resuming()
        _ = supervisor.nextTurn(elapsed: .zero)
        guard case .continue(_, let report) = supervisor.turnEnded(cases.completed(thread: "other")) else {
            Issue.record("expected the session to go on")
            return
        }
        #expect(report.first?.text?.contains("it ran on another thread, other") == true)
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: SessionSupervisorTests.prompt, threadID: nil))
    }

    @Test func onlyTheFirstTurnIsChecked() {
        var supervisor = resuming()
        _ = supervisor.nextTurn(elapsed: .zero)
        #expect(supervisor.turnEnded(cases.completed(thread: "old")) == .runChecks)
        _ = supervisor.checksRan(SessionSupervisorTests.failing, cancelled: false)
        _ = supervisor.policyAnswered(SessionSupervisorTests.yes)
        guard case .runTurn(_, let thread) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a repair turn")
            return
        }
        #expect(thread == "old")
        let crashed = supervisor.turnEnded(TurnReport(ending: nil, threadID: nil, status: 1))
        #expect(cases.request(crashed)?.detection == .crashed, "a later crash is a crash, resumed on the same thread")
    }
}
