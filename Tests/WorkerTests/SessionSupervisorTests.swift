import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// The session supervisor's table of cases, driven directly: no codex, no processes.
@Suite struct SessionSupervisorTests {
    static let prompt = "Make done.txt."
    static let yes = RecoveryVerdict(decision: .recover, reason: nil)
    static let failing = [CheckResult(check: "file done.txt", passed: false, detail: "done.txt does not exist")]
    static let passing = [CheckResult(check: "file done.txt", passed: true, detail: "exists")]

    func supervisor(
        risk: Risk? = nil,
        turns: Int = 4,
        wallSeconds: Double? = nil,
        tokens: Int? = nil,
        transientRetries: Int = 3
    ) -> SessionSupervisor {
        SessionSupervisor(
            prompt: Self.prompt,
            risk: risk,
            limits: .init(
                turns: turns,
                wallSeconds: wallSeconds,
                tokens: tokens,
                idleTimeout: .seconds(2),
                transientRetries: transientRetries,
                backoff: .seconds(1)
            )
        )
    }

    /// A supervisor whose first turn has begun.
    func started(
        risk: Risk? = nil,
        turns: Int = 4,
        tokens: Int? = nil,
        transientRetries: Int = 3
    ) -> SessionSupervisor {
        var supervisor = supervisor(risk: risk, turns: turns, tokens: tokens, transientRetries: transientRetries)
        _ = supervisor.nextTurn(elapsed: .zero)
        return supervisor
    }

    func completed(_ message: String? = "Done.", thread: String? = "t1", tokens: Int64 = 0) -> TurnReport {
        TurnReport(ending: .completed, lastMessage: message, threadID: thread, tokens: tokens)
    }

    func failed(_ message: String, thread: String? = "t1") -> TurnReport {
        TurnReport(ending: .failed(message: message), threadID: thread, status: 1)
    }

    func result(_ action: SessionAction) -> AgentResult? {
        if case .finish(let result) = action { return result }
        return nil
    }

    func request(_ action: SessionAction) -> RecoveryRequest? {
        if case .recover(let request) = action { return request }
        return nil
    }

    // MARK: - Turns and budget

    @Test func theFirstTurnRunsTheTodosPromptOnANewThread() {
        var supervisor = supervisor()
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: Self.prompt, threadID: nil))
        #expect(supervisor.state.turns == 1)
    }

    @Test func wallTimePastTheBudgetEscalates() {
        var supervisor = supervisor(wallSeconds: 60)
        let finished = result(supervisor.nextTurn(elapsed: .seconds(60)))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "over budget: 60 s of wall time spent")
        #expect(finished?.exitCode == nil)
    }

    @Test func turnsPastTheBudgetEscalateWithTheLastProblem() {
        var supervisor = started(turns: 1)
        #expect(supervisor.turnEnded(completed()) == .runChecks)
        #expect(request(supervisor.checksRan(Self.failing, cancelled: false))?.detection == .checksFailed, "it said Done.")
        #expect(supervisor.policyAnswered(Self.yes) == .continue())
        let finished = result(supervisor.nextTurn(elapsed: .seconds(1)))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "over budget: 1 turns spent; check failed: file done.txt: done.txt does not exist")
    }

    @Test func turnsPastTheBudgetWithNoProblemSeen() {
        var supervisor = supervisor(turns: 1)
        _ = supervisor.nextTurn(elapsed: .zero)
        #expect(result(supervisor.nextTurn(elapsed: .zero))?.summary == "over budget: 1 turns spent; the TODO is not done")
    }

    @Test func tokensPastTheBudgetEscalate() {
        var supervisor = started(tokens: 1000)
        let finished = result(supervisor.turnEnded(completed(tokens: 2000)))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "over budget: 2000 tokens used, the budget is 1000")
        #expect(finished?.tokens == 2000)
    }

    @Test func tokensOfEveryTurnAreReported() {
        var supervisor = started()
        _ = supervisor.turnEnded(completed(tokens: 300))
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        _ = supervisor.policyAnswered(Self.yes)
        _ = supervisor.nextTurn(elapsed: .zero)
        _ = supervisor.turnEnded(completed(tokens: 500))
        #expect(result(supervisor.checksRan(Self.passing, cancelled: false))?.tokens == 800)
    }

    // MARK: - How a turn ended

    @Test func aCancelledTurnStops() {
        var supervisor = started()
        var turn = completed()
        turn.cancelled = true
        turn.status = 143
        turn.tail = "bye"
        #expect(
            supervisor.turnEnded(turn)
                == .finish(result(outcome: .cancelled, status: 143, summary: "stopped on request", tail: "bye"))
        )
    }

    @Test func cancelledWhileTheChecksRanStops() {
        var supervisor = started()
        _ = supervisor.turnEnded(completed())
        #expect(result(supervisor.checksRan([], cancelled: true))?.outcome == .cancelled)
    }

    @Test func aTurnPastTheTimeLimitEndsTimedOut() {
        var supervisor = started()
        let turn = TurnReport(threadID: "t1", status: 137, timedOut: true)
        #expect(supervisor.turnEnded(turn) == .finish(result(outcome: .timedOut, status: 137, summary: "codex turn 1 timed out")))
    }

    @Test func aHungTurnResumesTheThreadWithANudge() {
        var supervisor = started()
        let action = supervisor.turnEnded(TurnReport(hung: true, threadID: "t1"))
        #expect(
            action
                == .recover(
                    RecoveryRequest(
                        detection: .hung,
                        evidence: "no agent event for 2.0 seconds while no command ran",
                        proposal: "stop codex and resume the thread with a nudge"
                    )
                )
        )
        #expect(supervisor.policyAnswered(Self.yes) == .continue())
        #expect(
            supervisor.nextTurn(elapsed: .zero)
                == .runTurn(prompt: "You stopped responding. Continue the task from where you were.", threadID: "t1")
        )
    }

    @Test func aHungTurnWithNoThreadStartsAgain() {
        var supervisor = started()
        #expect(request(supervisor.turnEnded(TurnReport(hung: true)))?.proposal == "stop codex and start the turn again")
        _ = supervisor.policyAnswered(Self.yes)
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: Self.prompt, threadID: nil))
    }

    @Test func aLoopIsSteeredToAnotherApproach() {
        var supervisor = started()
        let evidence = "`ls` ran 3 times with the same result"
        let action = supervisor.turnEnded(TurnReport(looping: evidence, threadID: "t1"))
        #expect(
            action
                == .recover(
                    RecoveryRequest(
                        detection: .looping,
                        evidence: evidence,
                        proposal: "stop codex and steer it toward a different approach"
                    )
                )
        )
        _ = supervisor.policyAnswered(Self.yes)
        guard case .runTurn(let prompt, "t1") = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("no turn on the thread")
            return
        }
        #expect(prompt.hasPrefix("You are repeating yourself: \(evidence)."))
        #expect(supervisor.state.lastProblem == "looping: \(evidence)")
    }

    @Test func aLoopThePolicyRefusedToSteerEscalatesWithoutAskingAgain() {
        var supervisor = started()
        let turn = TurnReport(
            looping: "`ls` ran 3 times with the same result",
            loopRefusal: "looping 2 times, the limit is 2",
            threadID: "t1"
        )
        let finished = result(supervisor.turnEnded(turn))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "looping: looping 2 times, the limit is 2")
    }

    @Test func aTransientErrorBacksOffAsTheServerAskedAndDoesNotCountTheTurn() {
        var supervisor = started()
        let action = supervisor.turnEnded(failed("Rate limit reached for gpt-5.5. Please try again in 0.3s."))
        #expect(request(action)?.detection == .transientError)
        #expect(request(action)?.proposal == "back off 0.3 seconds and retry the turn (1/3)")
        #expect(supervisor.policyAnswered(Self.yes) == .continue(after: .milliseconds(300)))
        #expect(supervisor.state.turns == 0)
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: Self.prompt, threadID: "t1"))
    }

    @Test func transientErrorsBackOffExponentiallyThenFail() {
        var supervisor = started(transientRetries: 3)
        var delays: [Duration?] = []
        for _ in 1...3 {
            _ = supervisor.turnEnded(failed("stream disconnected before completion"))
            if case .continue(let delay, _) = supervisor.policyAnswered(Self.yes) { delays.append(delay) }
            _ = supervisor.nextTurn(elapsed: .zero)
        }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4)])
        let finished = result(supervisor.turnEnded(failed("stream disconnected before completion")))
        #expect(finished?.outcome == .failed)
        #expect(finished?.summary == "codex turn failed: stream disconnected before completion")
    }

    @Test func aTurnThatEndsNormallyResetsTheTransientRetries() {
        var supervisor = started(transientRetries: 1)
        _ = supervisor.turnEnded(failed("429 Too Many Requests"))
        _ = supervisor.policyAnswered(Self.yes)
        _ = supervisor.nextTurn(elapsed: .zero)
        _ = supervisor.turnEnded(completed())
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        _ = supervisor.policyAnswered(Self.yes)
        _ = supervisor.nextTurn(elapsed: .zero)
        #expect(request(supervisor.turnEnded(failed("429 Too Many Requests")))?.detection == .transientError)
    }

    @Test func aFullContextStartsANewThreadSeededWithWhatTheLastOneSaid() {
        var supervisor = started()
        var turn = failed("Your input exceeds the context window of this model.")
        turn.lastMessage = "I wrote half of it."
        let action = supervisor.turnEnded(turn)
        #expect(request(action)?.detection == .contextFull)
        #expect(request(action)?.proposal == "start a new thread seeded with a summary")
        _ = supervisor.policyAnswered(Self.yes)
        guard case .runTurn(let prompt, nil) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("not a new thread")
            return
        }
        #expect(prompt.hasPrefix(Self.prompt))
        #expect(prompt.contains("An earlier session ran out of context. What it last said:\nI wrote half of it."))
    }

    @Test func aUsageLimitEscalates() {
        var supervisor = started()
        let finished = result(supervisor.turnEnded(failed("You've hit your usage limit.")))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "usage limit reached: You've hit your usage limit.")
        #expect(finished?.exitCode == 1)
    }

    @Test func anyOtherTurnFailureFails() {
        var supervisor = started()
        let finished = result(supervisor.turnEnded(failed("invalid_api_key")))
        #expect(finished?.outcome == .failed)
        #expect(finished?.summary == "codex turn failed: invalid_api_key")
    }

    @Test func aCrashResumesTheThread() {
        var supervisor = started()
        let action = supervisor.turnEnded(TurnReport(threadID: "t1", status: 137))
        #expect(
            action
                == .recover(
                    RecoveryRequest(
                        detection: .crashed,
                        evidence: "codex exited with status 137 without ending its turn",
                        proposal: "resume the thread"
                    )
                )
        )
        _ = supervisor.policyAnswered(Self.yes)
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: "Continue the task.", threadID: "t1"))
    }

    @Test func aCrashBeforeAnyThreadStartsAgain() {
        var supervisor = started()
        #expect(request(supervisor.turnEnded(TurnReport(status: 1)))?.proposal == "start the turn again")
        _ = supervisor.policyAnswered(Self.yes)
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: Self.prompt, threadID: nil))
    }

    // MARK: - After the checks

    @Test func aCompletedTurnRunsTheChecksAndPassingChecksFinish() {
        var supervisor = started()
        #expect(supervisor.turnEnded(completed("Done.")) == .runChecks)
        let finished = result(supervisor.checksRan(Self.passing, cancelled: false))
        #expect(finished?.outcome == .succeeded)
        #expect(finished?.summary == "codex finished in 1 turn: Done.")
        #expect(finished?.checks == Self.passing)
        #expect(finished?.exitCode == 0)
    }

    @Test func checksThatFailAfterTheAgentSaidItWasDoneRepairOnTheSameThread() {
        var supervisor = started()
        _ = supervisor.turnEnded(completed("All done!"))
        let action = supervisor.checksRan(Self.failing, cancelled: false)
        #expect(
            action
                == .recover(
                    RecoveryRequest(
                        detection: .checksFailed,
                        evidence: "the turn ended with checks failing: the agent said it was done: \"All done!\"\n"
                            + "file done.txt: done.txt does not exist",
                        proposal: "repair: continue the same thread with the failing checks"
                    )
                )
        )
        #expect(supervisor.policyAnswered(Self.yes) == .continue())
        #expect(supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: SessionSupervisor.notDone(Self.failing), threadID: "t1"))
        #expect(supervisor.state.turns == 2)
    }

    @Test func aTurnThatStoppedEarlyIsToldApartFromOneThatSaidItWasDone() {
        let cases: [(message: String?, actions: Int?, detection: Detection, why: String)] = [
            ("Wrote the parser. Next step: the tests.", 2, .stoppedEarly, "the agent said there is more to do (\"next step\")"),
            ("Here is the plan:\n1. read\n2. write", 1, .stoppedEarly, "the agent said there is more to do (\"here is the plan\")"),
            ("Fixed it.", 0, .stoppedEarly, "the turn ran no command and changed no file"),
            (nil, 3, .stoppedEarly, "the agent ended the turn saying nothing"),
            ("Fixed the operator in calc.sh.", 1, .checksFailed, "the agent said it was done"),
            ("Fixed it.", nil, .checksFailed, "the agent said it was done"),
        ]
        for item in cases {
            var supervisor = started()
            _ = supervisor.turnEnded(TurnReport(ending: .completed, lastMessage: item.message, actions: item.actions, threadID: "t1"))
            let request = request(supervisor.checksRan(Self.failing, cancelled: false))
            #expect(request?.detection == item.detection, "\(item.message ?? "nil")")
            #expect(request?.evidence.contains(item.why) == true, "\(request?.evidence ?? "")")
            #expect(request?.evidence.hasSuffix("file done.txt: done.txt does not exist") == true, "the failing check is the evidence")
            _ = supervisor.policyAnswered(Self.yes)
            let prompt = SessionSupervisor.notDone(Self.failing)
            #expect((supervisor.nextTurn(elapsed: .zero) == .runTurn(prompt: prompt, threadID: "t1")) == (item.detection == .checksFailed))
        }
    }

    @Test func failingChecksWithNoThreadToContinueFail() {
        var supervisor = started()
        _ = supervisor.turnEnded(completed(thread: nil))
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        let finished = result(supervisor.policyAnswered(Self.yes))
        #expect(finished?.outcome == .failed)
        #expect(finished?.summary == "check failed: file done.txt: done.txt does not exist")
        #expect(finished?.checks == Self.failing)
    }

    @Test(arguments: [nil, Risk.low, .medium])
    func aQuestionTheAgentMayDecideIsAnsweredByPolicy(risk: Risk?) {
        var supervisor = started(risk: risk)
        _ = supervisor.turnEnded(completed("Should I use tabs or spaces?"))
        let action = supervisor.checksRan(Self.failing, cancelled: false)
        #expect(
            action
                == .recover(
                    RecoveryRequest(
                        detection: .asksHuman,
                        evidence: "Should I use tabs or spaces?",
                        proposal: "answer by policy (risk \(risk?.rawValue ?? "low")): decide and go on"
                    )
                )
        )
        _ = supervisor.policyAnswered(Self.yes)
        guard case .runTurn(let prompt, "t1") = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("no turn on the thread")
            return
        }
        #expect(prompt.hasPrefix("Use your best judgment and decide yourself"))
    }

    @Test(arguments: [Risk.high, .critical])
    func aQuestionAboveThatRiskGoesToAnOperator(risk: Risk) {
        var supervisor = started(risk: risk)
        _ = supervisor.turnEnded(completed("Shall I drop the staging table?"))
        #expect(
            supervisor.checksRan(Self.failing, cancelled: false)
                == .askHuman(
                    Question(
                        kind: .question,
                        text:
                            "codex asks: Shall I drop the staging table?\n\n(It reaches you because the TODO's risk is \(risk.rawValue).)\n"
                            + "The checks that fail meanwhile:\n- file done.txt: done.txt does not exist"
                    ),
                    report: [
                        AgentEvent(
                            kind: .detected,
                            text: "asks_human: Shall I drop the staging table? (to a human: the TODO's risk is \(risk.rawValue))",
                            detection: .asksHuman
                        )
                    ]
                )
        )
        #expect(
            supervisor.humanAnswered(HumanAnswer(decision: .reply, text: "yes, only staging"))
                == .continue(report: [AgentEvent(kind: .recovery, text: "continue the thread with the operator's answer")])
        )
        guard case .runTurn(let prompt, "t1") = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("no turn on the thread")
            return
        }
        #expect(prompt.hasPrefix("The operator answers: yes, only staging\nGo on with the task.\n"))
    }

    /// The question as asked, whatever the risk: asked again after "decide yourself", or one only a human can settle.
    @Test func questionsOnlyAHumanCanSettleReachOneWhateverTheRisk() throws {
        var again = started(risk: .low)
        _ = again.turnEnded(completed("Should I use tabs or spaces?"))
        #expect(request(again.checksRan(Self.failing, cancelled: false))?.detection == .asksHuman, "decided by policy first")
        _ = again.policyAnswered(Self.yes)
        _ = again.nextTurn(elapsed: .zero)
        _ = again.turnEnded(completed("I still cannot tell: tabs or spaces?"))
        guard case .askHuman(let question, _) = again.checksRan(Self.failing, cancelled: false) else {
            Issue.record("asked again: not sent to a human")
            return
        }
        #expect(question.text.hasPrefix("codex asks: I still cannot tell: tabs or spaces?\n\n"))
        #expect(question.text.contains("it asked again after being told to decide itself"))
        #expect(
            again.humanAnswered(HumanAnswer(decision: .reply, text: "spaces"))
                == .continue(report: [AgentEvent(kind: .recovery, text: "continue the thread with the operator's answer")])
        )
        #expect(again.nextTurn(elapsed: .zero) == .runTurn(prompt: again.state.prompt, threadID: "t1"), "the same live thread")
        #expect(again.state.prompt.hasPrefix("The operator answers: spaces"))

        for (asked, why) in [
            ("Which API key should I use for the payments sandbox?", "it needs credentials or access"),
            ("The spec says both 10 and 20 retries; they contradict each other. Which one?", "the task seems to contradict itself"),
            ("Shall I force-push over main?", "the choice cannot be undone"),
        ] {
            var supervisor = started(risk: .low)
            _ = supervisor.turnEnded(completed(asked))
            guard case .askHuman(let question, _) = supervisor.checksRan(Self.failing, cancelled: false) else {
                Issue.record("\(asked): not sent to a human")
                continue
            }
            #expect(question.text.hasPrefix("codex asks: \(asked)"))
            #expect(question.text.contains(why), "\(question.text)")
        }
    }

    @Test func outOfTurnsWithAQuestionOpenTheEscalationCarriesIt() {
        var supervisor = started(turns: 1)
        _ = supervisor.turnEnded(completed("Should I keep the old endpoint?"))
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        _ = supervisor.policyAnswered(Self.yes)
        let finished = result(supervisor.nextTurn(elapsed: .zero))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "needs a human: codex asks: Should I keep the old endpoint? (over budget: 1 turns spent)")
    }

    @Test func anApprovalWithNoTextSaysGoAhead() {
        var supervisor = started(risk: .high)
        _ = supervisor.turnEnded(completed("Shall I?"))
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        _ = supervisor.humanAnswered(HumanAnswer(decision: .approve))
        #expect(supervisor.state.prompt.hasPrefix("The operator answers: Yes, go ahead."))
    }

    @Test func aDeniedQuestionEscalatesWithTheQuestion() {
        var supervisor = started(risk: .critical)
        _ = supervisor.turnEnded(completed("Shall I drop the production table?"))
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        let finished = result(supervisor.humanAnswered(HumanAnswer(decision: .deny, text: "no")))
        #expect(finished?.outcome == .escalated)
        #expect(finished?.summary == "needs input (risk critical): codex asked, and the answer was no: Shall I drop the production table?")
        #expect(finished?.checks == Self.failing)
    }

    @Test func aRefusedRecoveryEscalatesWithThePolicysReason() {
        var supervisor = started()
        _ = supervisor.turnEnded(TurnReport(hung: true, threadID: "t1", status: 0))
        let finished = result(supervisor.policyAnswered(RecoveryVerdict(decision: .escalate, reason: "hung 2 times, the limit is 2")))
        #expect(finished?.outcome == .escalated)
        #expect(
            finished?.summary.hasPrefix("hung: hung 2 times, the limit is 2. Evidence: no agent event for") == true,
            "\(finished?.summary ?? "")"
        )
    }

    @Test func aRefusalWithNoReasonSaysThePolicyStopped() {
        var supervisor = started()
        _ = supervisor.turnEnded(completed())
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        let finished = result(supervisor.policyAnswered(RecoveryVerdict(decision: .escalate, reason: nil)))
        #expect(
            finished?.summary
                == "checks_failed: the coordinator's policy says stop. Evidence: the turn ended with checks failing: the agent said it "
                + "was done: \"Done.\"\nfile done.txt: done.txt does not exist"
        )
    }

    // MARK: - Rules

    @Test func theAgentDecidesAloneOnlyUpToMediumRisk() {
        #expect(SessionSupervisor.agentMayDecideAlone(risk: nil))
        #expect(SessionSupervisor.agentMayDecideAlone(risk: .low))
        #expect(SessionSupervisor.agentMayDecideAlone(risk: .medium))
        #expect(!SessionSupervisor.agentMayDecideAlone(risk: .high))
        #expect(!SessionSupervisor.agentMayDecideAlone(risk: .critical))
    }

    @Test func aQuestionIsAFinalMessageEndingInAQuestionMark() {
        #expect(SessionSupervisor.isQuestion("I looked around.\nShould I go on?  \n"))
        #expect(!SessionSupervisor.isQuestion("Is it done? Yes.\nDone."))
        #expect(!SessionSupervisor.isQuestion(""))
    }

    @Test func theSupervisorIsBuiltFromTheTodoAndTheConfiguration() {
        let task = TaskSpec(
            title: "t",
            command: nil,
            prompt: "p",
            timeoutSeconds: nil,
            checks: [],
            budget: Budget(wallSeconds: 30, turns: 0, tokens: 9),
            risk: .high
        )
        let supervisor = SessionSupervisor(task: task, prompt: "p", configuration: CodexConfiguration(executable: "codex"))
        #expect(supervisor.limits.turns == 1, "at least one turn")
        #expect(supervisor.limits.wallSeconds == 30)
        #expect(supervisor.limits.tokens == 9)
        #expect(supervisor.risk == .high)
        let defaults = SessionSupervisor(
            task: TaskSpec(title: "t", command: nil, prompt: "p", timeoutSeconds: nil, checks: []),
            prompt: "p",
            configuration: CodexConfiguration(executable: "codex")
        )
        #expect(defaults.limits.turns == SessionSupervisor.defaultTurns)
    }

    func result(outcome: Outcome, status: Int32?, summary: String, tail: String = "") -> AgentResult {
        var result = AgentResult(outcome: outcome, exitCode: status, summary: summary, outputTail: tail)
        result.tokens = 0
        return result
    }
}
