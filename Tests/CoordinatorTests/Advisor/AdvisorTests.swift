import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// The advisor of a stuck TODO, through the core with a hand-moved clock: when the rules have run out, the session's
/// recovery waits for a read-only codex TODO whose advice goes back into the live thread, or whose question goes to
/// an operator.
@Suite struct AdvisorTests {
    static let stuck = Todo(id: "t", title: "Make the tests pass", prompt: "Fix the parser.", checks: [Check(command: "make test")])

    func recover(_ harness: CoreHarness, _ assign: AssignBody, item: String, _ detection: Detection = .checksFailed) throws -> [Sent] {
        try harness.fromWorker(
            "w1",
            .recover,
            RecoverBody(
                leaseId: assign.lease.leaseId,
                epoch: assign.lease.epoch,
                item: item,
                detection: detection,
                proposal: "repair: continue the same thread with the failing checks",
                evidence: "the turn ended with checks failing: the agent said it was done\ncommand `make test`: exit 2: parse error"
            )
        )
    }

    func recovery(_ sent: [Sent]) throws -> RecoveryBody? {
        try sent.first { $0.header?.type == .recovery }?.decode(RecoveryBody.self)
    }

    /// The stuck TODO, assigned, with two recoveries granted by the rules.
    func stuckTwice(_ harness: CoreHarness, slots: Int = 2) throws -> AssignBody {
        try harness.register("w1", slots: slots)
        let assign = try #require(try harness.submit(Plan(id: "p", title: "p", todos: [Self.stuck])).assigns().first)
        for item in ["r1-a", "r2-a"] {
            #expect(try recovery(try recover(harness, assign, item: item))?.decision == .recover, "the rules grant \(item)")
        }
        return assign
    }

    func advice(needsHuman: Bool) -> String {
        let advice = Advice(
            diagnosis: "The parser test feeds a file with a BOM.",
            nextInstruction: needsHuman ? "" : "Strip a leading BOM in Parser.read before tokenizing, then run make test.",
            needsHuman: needsHuman,
            questionForHuman: needsHuman ? "May the parser reject files with a BOM instead?" : "",
            reason: "The failing output shows an unexpected U+FEFF."
        )
        return String(decoding: try! JSONEncoder().encode(advice), as: UTF8.self)
    }

    @Test func whenTheRulesRunOutTheAdvicesInstructionGoesBackIntoTheThread() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness)
        let third = try recover(harness, assign, item: "r3-a")
        #expect(try recovery(third) == nil, "the decision waits for the advisor")
        let requested = try #require(third.events.first { $0.type == .todoAdviceRequested })
        #expect(requested.data["advisor"] == "p-help/advice-1")
        let advisor = try #require(try third.assigns().first { $0.lease.plan == "p-help" })
        #expect(advisor.task.output?.step == .advise)
        #expect(advisor.task.permissions?.sandbox == "read-only")
        let prompt = try #require(advisor.task.prompt)
        #expect(prompt.hasPrefix(AdvisorPlan.marker))
        #expect(prompt.contains("Fix the parser."), "the TODO")
        #expect(prompt.contains("parse error"), "the failing output")
        #expect(prompt.contains("checks_failed ×2"), "the recoveries tried")
        #expect(try recovery(try recover(harness, assign, item: "r3-a")) == nil, "a resend keeps waiting")

        let advised = try harness.report("w1", advisor, output: advice(needsHuman: false))
        let decision = try #require(try recovery(advised))
        #expect(decision.item == "r3-a")
        #expect(decision.decision == .recover)
        #expect(decision.instruction == "Strip a leading BOM in Parser.read before tokenizing, then run make test.")
        let event = try #require(advised.events.first { $0.type == .todoAdvised })
        #expect(event.data["diagnosis"] == "The parser test feeds a file with a BOM.")
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "t")]?.recoveries["advice"] == 1)
        let advisorReport = try report(harness, "p-help")
        #expect(harness.core.todos.plans["p-help"] != nil && advisorReport == nil, "no report of its own")
    }

    /// One worker with one slot, held by the session that waits for advice: the advisor takes that slot, and
    /// nothing else does.
    @Test func theAdvisorRunsInTheSlotOfTheSessionWaitingForIt() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness, slots: 1)
        try harness.submit(Plan(id: "q", title: "q", todos: [Todo(id: "other", command: "true")]))
        let third = try recover(harness, assign, item: "r3-a")
        let advisor = try #require(try third.assigns(to: "w1").first, "the advisor is not left waiting for a free slot")
        #expect(advisor.lease.plan == "p-help" && advisor.task.usesWaitingSlots)
        #expect(harness.state("q", "other") == "ready", "the lent slot is for the advisor only")
        #expect(try harness.tick(advancing: 1000).assigns().isEmpty, "one advisor per waiting session")

        let advised = try harness.report("w1", advisor, output: advice(needsHuman: false))
        #expect(try recovery(advised)?.decision == .recover)
        #expect(try advised.assigns().isEmpty, "the session goes on in its slot: nothing else starts")
        #expect(harness.state("q", "other") == "ready")
    }

    @Test func anAdvisorThatNeedsAHumanPutsItsQuestionInTheInbox() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })
        let asked = try harness.report("w1", advisor, output: advice(needsHuman: true))
        #expect(try recovery(asked) == nil, "the session waits for the operator")
        let item = try #require(harness.core.inbox.items.first)
        #expect(item.kind == .question)
        #expect(item.text.hasPrefix("The advisor asks: May the parser reject files with a BOM instead?"))
        #expect(try recovery(try recover(harness, assign, item: "r3-a")) == nil, "a resend keeps waiting")

        let empty = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: " "))
        #expect(try empty.errors().first?.code == .badField)
        let answered = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "Yes, reject them."))
        let decision = try #require(try recovery(answered))
        #expect(decision.decision == .recover)
        #expect(decision.instruction?.contains("the operator answers: Yes, reject them.") == true)
        #expect(harness.core.inbox.isEmpty)
    }

    @Test func anOperatorsNoEscalatesWithTheQuestion() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })
        try harness.report("w1", advisor, output: advice(needsHuman: true))
        let item = try #require(harness.core.inbox.items.first)
        let denied = try harness.control(.answer, AnswerBody(item: item.id, decision: .deny))
        let decision = try #require(try recovery(denied))
        #expect(decision.decision == .escalate)
        #expect(decision.reason?.contains("May the parser reject files with a BOM instead?") == true)
    }

    @Test func anAdvisorThatFailsLeavesTheDecisionToTheRules() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })
        let failed = try harness.report("w1", advisor, output: #"{"diagnosis":""}"#)
        let decision = try #require(try recovery(failed))
        #expect(decision.decision == .recover, "the rules' third recovery of the limit of 3")
        #expect(decision.instruction == nil)
        #expect(failed.events.first { $0.type == .todoAdvised }?.data["failed"] != nil)
    }

    @Test func withoutAnAdvisorOrPastItsLimitTheRulesDecide() throws {
        let harness = try CoreHarness(advisor: AdvisorPolicy(enabled: false))
        let assign = try stuckTwice(harness)
        #expect(try recovery(try recover(harness, assign, item: "r3-a"))?.decision == .recover)
        #expect(try recovery(try recover(harness, assign, item: "r4-a"))?.decision == .escalate)
        #expect(harness.core.todos.plans["p-help"] == nil)

        #expect(AdvisorPolicy().asks(.checksFailed, granted: 2, advised: 0))
        #expect(!AdvisorPolicy().asks(.checksFailed, granted: 1, advised: 0), "the rules first")
        #expect(AdvisorPolicy().asks(.looping, granted: 1, advised: 0), "a loop that survived a steer")
        #expect(!AdvisorPolicy().asks(.checksFailed, granted: 2, advised: 2), "past its limit")
        #expect(!AdvisorPolicy().asks(.hung, granted: 5, advised: 0), "not for every trouble")
    }

    @Test func theSessionsLeaseEndingDropsTheAdviceAndItsQuestion() throws {
        let harness = try CoreHarness()
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })
        try harness.report("w1", advisor, output: advice(needsHuman: true))
        #expect(harness.core.inbox.count == 1)
        try harness.report("w1", assign, .failed)
        #expect(harness.core.inbox.isEmpty, "nobody waits for the answer any more")
        #expect(harness.core.pendingAdvice.isEmpty)
    }

    @Test func theAdvisorIsToldWhereTheStuckTodosWorkIsWhenItWasCheckpointed() {
        var stuck = AdvisorPlan.Case(
            plan: "p",
            todo: Self.stuck,
            detection: .looping,
            evidence: "`make` ran 3 times with the same result",
            recoveries: ["looping": 1],
            transcript: ["- command: $ make (exit 2)"]
        )
        #expect(!AdvisorPlan.prompt(stuck).contains("holds its work so far"), "nothing checkpointed: nothing to show")
        stuck.branch = "drover/p/t"
        let prompt = AdvisorPlan.prompt(stuck)
        #expect(prompt.contains("holds its work so far (branch drover/p/t at its last checkpoint)"))
        #expect(prompt.contains("- command: $ make (exit 2)"), "the transcript's tail")
    }

    /// A core on a state file, for restarts; the directory is removed by the caller's `defer`.
    func restartable() throws -> (CoreHarness, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-advice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path), directory)
    }

    @Test func adviceUnderWaySurvivesARestartAndTheResentRequestKeepsWaitingForIt() throws {
        let (harness, directory) = try restartable()
        defer { try? FileManager.default.removeItem(at: directory) }
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })

        try harness.restart()
        #expect(harness.core.pendingAdvice.count == 1)
        try harness.register("w1", slots: 2, holding: [assign.lease, advisor.lease])
        let resent = try recover(harness, assign, item: "r3-a")
        #expect(try recovery(resent) == nil, "the decision still waits for the advisor")
        #expect(!resent.eventTypes.contains("todo.advice_requested"), "no second advisor")
        #expect(harness.core.todos.plans["p-help"]?.plan.todos.count == 1)

        let advised = try harness.report("w1", advisor, output: advice(needsHuman: false))
        let decision = try #require(try recovery(advised))
        #expect(decision.item == "r3-a")
        #expect(decision.instruction == "Strip a leading BOM in Parser.read before tokenizing, then run make test.")
        try harness.restart()
        #expect(harness.core.pendingAdvice.isEmpty, "decided: nothing left stored")
    }

    @Test func anAdvisorsQuestionSurvivesARestartAndItsAnswerReachesTheSession() throws {
        let (harness, directory) = try restartable()
        defer { try? FileManager.default.removeItem(at: directory) }
        let assign = try stuckTwice(harness)
        let advisor = try #require(try recover(harness, assign, item: "r3-a").assigns().first { $0.lease.plan == "p-help" })
        try harness.report("w1", advisor, output: advice(needsHuman: true))
        let asked = try #require(harness.core.inbox.items.first)

        try harness.restart()
        let again = try #require(harness.core.inbox.items.first, "the question is back in the inbox")
        #expect(again.id == asked.id)
        #expect(again.text == asked.text)
        try harness.register("w1", slots: 2, holding: [assign.lease])
        #expect(try recovery(try recover(harness, assign, item: "r3-a")) == nil, "the resent request waits for the answer")
        let answered = try harness.control(.answer, AnswerBody(item: again.id, decision: .reply, text: "Yes, reject them."))
        let decision = try #require(try recovery(answered))
        #expect(decision.decision == .recover)
        #expect(decision.instruction?.contains("the operator answers: Yes, reject them.") == true)
    }

    func report(_ harness: CoreHarness, _ plan: String) throws -> PlanReport? {
        try harness.control(.planReport, ReportRequest(plan: plan)).first { $0.header?.type == .planReport }?.decode(PlanReport.self)
    }
}
