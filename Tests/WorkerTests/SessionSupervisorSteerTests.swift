import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// An operator's guidance and pauses, as the session supervisor hears them.
@Suite struct SessionSupervisorSteerTests {
    let cases = SessionSupervisorTests()

    @Test func guidanceOpensTheNextTurnsInputOnce() {
        var supervisor = cases.started()
        supervisor.steered(["Use the v2 API."])
        #expect(supervisor.turnEnded(cases.completed()) == .runChecks)
        let repair = supervisor.checksRan(SessionSupervisorTests.failing, cancelled: false)
        #expect(cases.request(repair)?.detection == .checksFailed)
        #expect(supervisor.policyAnswered(SessionSupervisorTests.yes) == .continue())
        guard case .runTurn(let prompt, let thread) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a turn")
            return
        }
        #expect(thread == "t1")
        #expect(prompt.hasPrefix("The operator overseeing this task says:\n> Use the v2 API.\n\nFollow this guidance."))
        #expect(prompt.contains("- file done.txt: done.txt does not exist"), "then the repair prompt")
        supervisor.steered([])
        guard case .runTurn(let next, _) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a turn")
            return
        }
        #expect(!next.contains("Use the v2 API."), "guidance is given once")
    }

    @Test func guidanceThatArrivesAsTheSessionWouldFinishGivesOneMoreTurnOutsideTheBudget() {
        var supervisor = cases.started(turns: 1)
        #expect(supervisor.turnEnded(cases.completed()) == .runChecks)
        let done = supervisor.checksRan(SessionSupervisorTests.passing, cancelled: false)
        #expect(cases.result(done)?.outcome == .succeeded)
        #expect(supervisor.heardBeforeFinishing(done) == nil, "no guidance: it finishes")
        supervisor.steered(["Also write a README."])
        #expect(supervisor.heardBeforeFinishing(done) == .continue())
        guard case .runTurn(let prompt, let thread) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected one more turn, though the budget of 1 turn is spent")
            return
        }
        #expect(thread == "t1")
        #expect(prompt.contains("> Also write a README."))
        #expect(prompt.hasSuffix(SessionPrompts.beforeFinishing))
        #expect(supervisor.turnEnded(cases.completed()) == .runChecks)
        let finished = supervisor.checksRan(SessionSupervisorTests.passing, cancelled: false)
        #expect(cases.result(finished)?.outcome == .succeeded)
        #expect(supervisor.heardBeforeFinishing(finished) == nil)
    }

    @Test func guidanceDoesNotReviveASessionThatFailed() {
        var supervisor = cases.started()
        supervisor.steered(["try harder"])
        let failed = supervisor.turnEnded(cases.failed("the model said no"))
        #expect(cases.result(failed)?.outcome == .failed)
        #expect(supervisor.heardBeforeFinishing(failed) == nil)
    }

    @Test func aPausedSessionEndsPausedWithTheTurnsItRan() {
        var supervisor = cases.started()
        #expect(supervisor.turnEnded(cases.completed(tokens: 7)) == .runChecks)
        _ = supervisor.checksRan(SessionSupervisorTests.failing, cancelled: false)
        _ = supervisor.policyAnswered(SessionSupervisorTests.yes)
        _ = supervisor.nextTurn(elapsed: .zero)
        let paused = supervisor.paused()
        #expect(paused.outcome == .paused)
        #expect(paused.summary == "paused by an operator after 1 turn")
        #expect(paused.tokens == 7)
    }
}
