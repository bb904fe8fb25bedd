import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// A job's spend: the tokens and cost of every plan it ran, in `job show`, its text, and `review`.
@Suite struct JobSpendTests {
    let jobs = JobLifecycleTests()

    @Test func aJobShowsWhatEachOfItsPlansSpentAndReviewShowsItBesideThePlans() throws {
        let harness = try CoreHarness(prices: SpendTests.prices)
        try harness.register("w1", slots: 4)
        _ = try jobs.start(harness)
        let classify = try jobs.nextAssign(harness, [], plan: "j1-classify")
        let reported = try harness.report(
            "w1",
            classify,
            output: JobLifecycleTests.classification,
            usage: SpendTests.run,
            model: "gpt-test"
        )
        let investigate = try jobs.nextAssign(harness, reported, plan: "j1-investigate")
        // The investigation is still running: what it has spent so far counts.
        try sendUsage(harness, "w1", investigate, SpendTests.run)

        let shown = try #require(
            try harness.control(.job, JobRequest(action: .show, job: "j1")).first { $0.header?.type == .job }?.decode(JobsBody.self)
                .jobs.first
        )
        #expect(shown.tokens == 2 * SpendTests.run.total)
        #expect(shown.costUSD.map { abs($0 - 0.6) < 1e-9 } == true, "\(String(describing: shown.costUSD))")
        #expect(shown.spend?.map(\.plan) == ["j1-classify", "j1-investigate"])
        #expect(shown.spend?.allSatisfy { $0.costUSD.map { abs($0 - 0.3) < 1e-9 } == true } == true)
        let json = try JSONDecoder().decode(JobView.self, from: WireCodec().json(shown))
        #expect(json == shown, "the --json view round-trips")

        let listed = try #require(
            try harness.control(.job, JobRequest(action: .list)).first { $0.header?.type == .job }?.decode(JobsBody.self).jobs.first
        )
        #expect(listed.costUSD.map { abs($0 - 0.6) < 1e-9 } == true)
        #expect(listed.spend == nil, "per plan only in a full view")

        let review = try harness.core.review(ReviewRequest())
        #expect(review.jobs?.first?.plan == "j1")
        #expect(review.jobs?.first?.costUSD.map { abs($0 - 0.6) < 1e-9 } == true)
        let plan = try #require(review.plans.first { $0.plan == "j1-investigate" })
        #expect(plan.tokens == SpendTests.run.total)
        #expect(plan.costUSD.map { abs($0 - 0.3) < 1e-9 } == true)
    }
}
