import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// The supervisor's rows for tasks that want an answer (``OutputSpec``) or give a context: no codex, no processes.
extension SessionSupervisorTests {
    func answering(_ step: AnswerStep = .plan, attempts: Int = 3, turns: Int = 4, context: String? = nil) -> SessionSupervisor {
        SessionSupervisor(
            prompt: Self.prompt,
            risk: nil,
            limits: .init(turns: turns, wallSeconds: nil, tokens: nil, idleTimeout: .seconds(2), transientRetries: 3, backoff: .seconds(1)),
            context: context,
            output: OutputSpec(step: step, attempts: attempts)
        )
    }

    @Test func aUsableAnswerRunsTheChecksAndTheResultCarriesIt() {
        var supervisor = answering()
        _ = supervisor.nextTurn(elapsed: .zero)
        #expect(supervisor.turnEnded(completed("  \(StepAnswerSamples.plan)\n")) == .runChecks)
        let finished = result(supervisor.checksRan([], cancelled: false))
        #expect(finished?.outcome == .succeeded)
        #expect(finished?.output == StepAnswerSamples.plan, "the answer, trimmed")
    }

    @Test func anUnusableAnswerIsSentBackWithItsProblemsOnTheSameThread() throws {
        var supervisor = answering()
        _ = supervisor.nextTurn(elapsed: .zero)
        let action = supervisor.turnEnded(completed(StepAnswerSamples.cycle))
        guard case .continue(nil, let report) = action else {
            Issue.record("expected a repair, got \(action)")
            return
        }
        let event = try #require(report.first)
        #expect(event.kind == .detected)
        #expect(event.detection == .invalidAnswer)
        #expect(event.text?.contains(StepAnswerSamples.cycleProblem) == true, "the evidence: \(event.text ?? "")")

        guard case .runTurn(let prompt, let thread) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a turn")
            return
        }
        #expect(thread == "t1")
        #expect(prompt.contains("could not be used (answer 1 of 3)"))
        #expect(prompt.contains("- \(StepAnswerSamples.cycleProblem)"), "the problem, quoted: \(prompt)")
        #expect(prompt.contains("only the JSON object"))
        #expect(!prompt.contains(Self.prompt), "not the TODO's prompt again")

        #expect(supervisor.turnEnded(completed(StepAnswerSamples.plan)) == .runChecks)
        let finished = result(supervisor.checksRan([], cancelled: false))
        #expect(finished?.output == StepAnswerSamples.plan)
        #expect(finished?.summary.hasPrefix("codex finished in 2 turns") == true)
    }

    @Test func noUsableAnswerAfterTheLastAttemptFailsNamingTheStepAndEveryProblem() {
        var supervisor = answering()
        var action = supervisor.nextTurn(elapsed: .zero)
        var turns = 0
        while case .runTurn = action {
            turns += 1
            action = supervisor.turnEnded(completed(StepAnswerSamples.cycle))
            if case .continue = action { action = supervisor.nextTurn(elapsed: .zero) }
        }
        #expect(turns == 3, "three answers, with the default budget of four turns")
        let finished = result(action)
        #expect(finished?.outcome == .failed)
        #expect(finished?.summary == "the plan answer was not usable after 3 answers:\n- \(StepAnswerSamples.cycleProblem)")
        #expect(finished?.output == nil)
    }

    @Test func turnsThatRepairAnAnswerDoNotCountAgainstTheTurnBudget() {
        var supervisor = answering(turns: 1)
        _ = supervisor.nextTurn(elapsed: .zero)
        _ = supervisor.turnEnded(completed("not JSON"))
        guard case .runTurn(let prompt, _) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("a one-turn budget still allows the repair")
            return
        }
        #expect(prompt.contains("- : the answer is not a JSON object") || prompt.contains("not a JSON object"))
        #expect(supervisor.turnEnded(completed(StepAnswerSamples.plan)) == .runChecks)
        // Failing checks after that: the repair of the work does count.
        _ = supervisor.checksRan(Self.failing, cancelled: false)
        _ = supervisor.policyAnswered(Self.yes)
        #expect(result(supervisor.nextTurn(elapsed: .zero))?.outcome == .escalated)
    }

    @Test func aTurnWithNoMessageIsAnUnusableAnswer() {
        var supervisor = answering(.classify, attempts: 1)
        _ = supervisor.nextTurn(elapsed: .zero)
        let finished = result(supervisor.turnEnded(completed(nil)))
        #expect(finished?.outcome == .failed)
        #expect(finished?.summary.hasPrefix("the classify answer was not usable after 1 answer:") == true)
    }

    @Test func theContextOpensOnlyTheFirstPrompt() {
        let context = "# Context\nThe code is in Sources."
        var supervisor = answering(context: context)
        guard case .runTurn(let first, nil) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a first turn")
            return
        }
        #expect(first == "# Context\nThe code is in Sources.\n\n---\n\n# Your task\n\nMake done.txt.")
        _ = supervisor.turnEnded(completed("{}"))
        guard case .runTurn(let repair, "t1") = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a repair turn")
            return
        }
        #expect(!repair.contains("The code is in Sources."), "repairs go on the same thread: no context again")
    }

    @Test func aNewThreadGetsTheContextAgain() {
        var supervisor = SessionSupervisor(
            task: TaskSpec(title: "t", command: nil, prompt: "p", timeoutSeconds: nil, checks: [], context: "ctx"),
            prompt: "p",
            configuration: CodexConfiguration(executable: "codex")
        )
        _ = supervisor.nextTurn(elapsed: .zero)
        _ = supervisor.turnEnded(failed("Your input exceeds the context window of this model."))
        _ = supervisor.policyAnswered(Self.yes)
        guard case .runTurn(let prompt, nil) = supervisor.nextTurn(elapsed: .zero) else {
            Issue.record("expected a new thread")
            return
        }
        #expect(prompt.hasPrefix("ctx\n\n---\n\n# Your task\n\np"))
    }

    @Test func noContextLeavesThePromptAsItIs() {
        #expect(SessionPrompts.opening(prompt: "p", context: nil) == "p")
        #expect(SessionPrompts.opening(prompt: "p", context: " \n") == "p")
    }
}
