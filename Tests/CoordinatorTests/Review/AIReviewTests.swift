import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Coordinator

/// A finished plan's AI review through the core, with a hand-moved clock: asked for with `plan_report` and `ai`, it
/// runs as one read-only codex TODO in `<plan>-next`, and its answer lands in the plan's stored report.
@Suite struct AIReviewTests {
    /// One TODO in a repository.
    static let work = Plan(
        id: "p",
        title: "P",
        repository: "/srv/app.git",
        base: "main",
        todos: [Todo(id: "a", prompt: "add a.txt", checks: [Check(command: "test -f a.txt")])]
    )

    static let answer = #"""
        {"summary":"a.txt was added and merged.","tests":["test that a.txt holds a line"],
         "deployment":["ship a.txt with the release"],"follow_up":["document a.txt"]}
        """#

    /// Runs the plan to FINALIZE: `a` done and merged at `h1`.
    func finalized(_ harness: CoreHarness) throws {
        try harness.register("w1", slots: 2)
        let a = try #require(try harness.submit(Self.work).assigns().first)
        let merge = try #require(try harness.report("w1", a).assigns().first { $0.lease.plan == "p-merge" })
        let ended = try harness.report("w1", merge, merge: MergeResult(outcome: .merged, head: "h1"))
        #expect(ended.events.contains { $0.type == .planFinalized && $0.plan == "p" })
    }

    /// `plan_report` with `ai`: the reply, or the error.
    @discardableResult
    func ask(_ harness: CoreHarness, _ plan: String = "p") throws -> (report: PlanReport?, error: String?, sent: [Sent]) {
        let sent = try harness.control(.planReport, ReportRequest(plan: plan, ai: true))
        let report = try sent.first { $0.header?.type == .planReport }?.decode(PlanReport.self)
        return (report, try sent.errors().first?.message, sent)
    }

    func stored(_ harness: CoreHarness) throws -> PlanReport? {
        try harness.control(.planReport, ReportRequest(plan: "p")).first { $0.header?.type == .planReport }?.decode(PlanReport.self)
    }

    @Test func aFinalizedPlansReviewIsOneReadOnlyTodoWhoseAnswerLandsInItsReport() throws {
        let harness = try CoreHarness()
        try finalized(harness)
        let asked = try ask(harness)
        let running = try #require(asked.report?.aiReview)
        #expect(running.state == .running && running.plan == "p-next" && running.todo == "review")
        #expect(asked.sent.events.contains { $0.type == .planReviewRequested && $0.plan == "p" && $0.data["reviewer"] == "p-next/review" })
        #expect(asked.report?.markdown.contains("An AI review is under way (`p-next/review`)") == true)

        let reviewer = try #require(try asked.sent.assigns().first { $0.lease.plan == "p-next" }, "scheduled with the request")
        #expect(reviewer.lease.todo == "review")
        #expect(reviewer.task.output == OutputSpec(step: .recommend))
        #expect(reviewer.task.output?.schema == AnswerStep.recommend.schema)
        #expect(reviewer.task.permissions == Permissions(sandbox: "read-only", network: false))
        #expect(reviewer.task.branch == nil, "a detached worktree: nothing is kept")
        #expect(reviewer.task.base == "drover/p/integration", "the work as merged")
        #expect(reviewer.task.repository == "/srv/app.git")
        let prompt = try #require(reviewer.task.prompt)
        #expect(prompt.hasPrefix(AIReviewPlan.marker))
        #expect(prompt.contains("Plan `p` done: 1 of 1 TODOs done."), "the report is in the prompt")

        // Asked again while it runs: the same review, no second one.
        let again = try ask(harness)
        #expect(again.report?.aiReview == running)
        #expect(try again.sent.assigns().isEmpty && harness.core.todos.plans["p-next"]?.plan.todos.count == 1)

        var report = ReportBody(
            leaseId: reviewer.lease.leaseId,
            epoch: reviewer.lease.epoch,
            outcome: .succeeded,
            exitCode: 0,
            summary: "answered",
            outputTail: "",
            durationMs: 5,
            checks: [],
            output: Self.answer
        )
        report.model = "gpt-test"
        let ended = try harness.fromWorker("w1", .report, report)
        let reviewed = try #require(ended.events.first { $0.type == .planReviewed })
        #expect(reviewed.plan == "p" && reviewed.data["state"] == "done" && reviewed.data["model"] == "gpt-test")
        #expect(reviewed.data["tests"] == 1 && reviewed.data["follow_up"] == 1)
        #expect(!ended.events.contains { $0.type == .planFinalized }, "the reviewer gets no report of its own")
        #expect(harness.core.todos.plans["p-next-merge"] == nil && harness.core.merges["p-next"] == nil, "nor a merge queue")
        #expect(harness.core.jobs.all.isEmpty, "and is no job")

        let made = try #require(try stored(harness))
        let review = try #require(made.aiReview)
        #expect(review.state == .done && review.model == "gpt-test" && review.madeAt != nil)
        #expect(review.recommendations?.tests == ["test that a.txt holds a line"])
        #expect(review.recommendations?.followUp == ["document a.txt"])
        #expect(made.todos.map(\.id) == ["a"] && made.integration?.head == "h1", "the rest of the report as it was")
        let markdown = made.markdown
        #expect(markdown.contains(PlanReport.AIReview.heading))
        #expect(markdown.contains("It is the model's opinion: Drover did not check any of it."))
        #expect(markdown.contains("### Tests to add\n\n- test that a.txt holds a line"))
        #expect(markdown.contains("model `gpt-test`"))

        // Done: asking again gives it back, and starts nothing.
        let done = try ask(harness)
        #expect(done.report?.aiReview == review && harness.core.todos.plans["p-next"]?.plan.todos.count == 1)
    }

    @Test func onlyAFinalizedPlanCanBeReviewed() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        try harness.submit(Self.work)
        let running = try ask(harness)
        #expect(running.report == nil)
        #expect(running.error?.contains("plan p has no report to review yet: it is made when the plan and its merges have ended") == true)
        #expect(harness.core.todos.plans["p-next"] == nil)
        let unknown = try ask(harness, "nope")
        #expect(unknown.error == "no plan nope: see `drover status`")
    }

    @Test func anAnswerThatCannotBeUsedLeavesTheReportWithANoteAndAnotherReviewCanBeAskedFor() throws {
        let harness = try CoreHarness()
        try finalized(harness)
        let before = try #require(try stored(harness))
        let reviewer = try #require(try ask(harness).sent.assigns().first { $0.lease.plan == "p-next" })
        let ended = try harness.report("w1", reviewer, output: #"{"summary":"s","tests":"one"}"#)
        let reviewed = try #require(ended.events.first { $0.type == .planReviewed })
        #expect(reviewed.data["state"] == "failed")
        let made = try #require(try stored(harness))
        let review = try #require(made.aiReview)
        #expect(review.state == .failed && review.recommendations == nil)
        #expect(review.note?.contains("its answer is not usable") == true)
        #expect(review.note?.contains("tests: must be a list") == true)
        var withoutReview = made
        withoutReview.aiReview = nil
        #expect(withoutReview == before, "the report stands as it was")
        #expect(made.markdown.contains("The AI review failed: its answer is not usable"))

        // Asked again: one more TODO in the reviewer's plan; this one fails on its worker.
        let again = try ask(harness)
        #expect(again.report?.aiReview?.state == .running && again.report?.aiReview?.todo == "review-2")
        let second = try #require(try again.sent.assigns().first { $0.lease.plan == "p-next" })
        #expect(second.lease.todo == "review-2" && second.task.output?.step == .recommend)
        try harness.report("w1", second, .failed)
        let failed = try #require(try stored(harness)?.aiReview)
        #expect(failed.state == .failed && failed.note == "p-next/review-2 failed: failed")
    }

    @Test func aReviewUnderWayLandsInTheReportMadeAgainAfterARetry() throws {
        let harness = try CoreHarness()
        try harness.register("w1", slots: 2)
        let a = try #require(try harness.submit(plan([Todo(id: "a", prompt: "do a")])).assigns().first)
        try harness.report("w1", a, .failed)
        let asked = try ask(harness)
        let reviewer = try #require(try asked.sent.assigns().first { $0.lease.plan == "p-next" })
        #expect(reviewer.task.repository == nil && reviewer.task.base == nil, "a plan without a repository: the worker's directory")

        // a is taken up again and done: the report is made again, with the review still under way.
        let retried = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .retry))
        let again = try #require(try retried.assigns().first { $0.lease.plan == "p" })
        let remade = try harness.report("w1", again)
        #expect(remade.events.contains { $0.type == .planFinalized && $0.plan == "p" })
        #expect(try stored(harness)?.state == .done && stored(harness)?.aiReview?.state == .running)
        try harness.report("w1", reviewer, output: Self.answer)
        let made = try #require(try stored(harness))
        #expect(made.state == .done && made.aiReview?.state == .done)
    }

    @Test func aRestartKeepsTheReviewUnderWay() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try CoreHarness(statePath: directory.path + "/state.sqlite")
        try finalized(harness)
        let reviewer = try #require(try ask(harness).sent.assigns().first { $0.lease.plan == "p-next" })
        try harness.restart()
        #expect(harness.core.isAIReviewer("p-next"))
        #expect(try stored(harness)?.aiReview?.state == .running)
        try harness.register("w1", slots: 2, holding: [reviewer.lease])
        try harness.report("w1", reviewer, output: Self.answer)
        #expect(try stored(harness)?.aiReview?.recommendations?.deployment == ["ship a.txt with the release"])
        try harness.restart()
        #expect(try stored(harness)?.aiReview?.state == .done, "kept")
        #expect(try ask(harness).sent.assigns().isEmpty)
    }
}
