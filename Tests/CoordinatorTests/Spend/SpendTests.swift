import DroverProtocol
import Testing

@testable import Coordinator

/// Tokens become cost through the operator's price table: per TODO, per plan in the status, in the plan's report.
@Suite struct SpendTests {
    static let prices = PriceTable(["gpt-test": .init(input: 2, cachedInput: 0.5, output: 10)])

    @Test func costIsInputUncachedAndCachedAndOutputAtTheirPrices() throws {
        let usage = TokenUsage(input: 1_000_000, cachedInput: 400_000, output: 100_000)
        // 600k uncached at $2, 400k cached at $0.50, 100k out at $10 per million.
        #expect(Self.prices.cost(usage, model: "gpt-test") == 1.2 + 0.2 + 1.0)
        #expect(Self.prices.cost(usage, model: "other") == nil, "no price: no cost, only tokens")
        #expect(Self.prices.cost(usage, model: nil) == nil)
    }

    @Test func pricesAreReadOrRefusedByName() throws {
        let read = try PriceTable.price("gpt-5.5=1.25, 0.125,10").get()
        #expect(read.model == "gpt-5.5")
        #expect(read.price == .init(input: 1.25, cachedInput: 0.125, output: 10))
        for bad in ["gpt-5.5", "=1,2,3", "m=1,2", "m=1,x,3", "m=-1,0,0"] {
            guard case .failure(let error) = PriceTable.price(bad) else {
                Issue.record("\(bad) was read")
                continue
            }
            #expect(error.description.hasPrefix(bad), "the error names what was given: \(error)")
        }
    }

    @Test func aTodosCostAddsUpAcrossRunsAndShowsInTheStatusAndTheReport() throws {
        let harness = try CoreHarness(prices: Self.prices)
        try harness.register("w1")
        let todo = Todo(id: "t", title: "t", prompt: "do it", maxAttempts: 2)
        let first = try #require(try harness.submit(plan([todo])).assigns().first)
        let usage = TokenUsage(input: 100_000, cachedInput: 0, output: 10_000)
        let again = try #require(try harness.report("w1", first, .failed, usage: usage, model: "gpt-test").assigns().first)
        try harness.report("w1", again, usage: usage, model: "gpt-test")
        let facts = try #require(harness.core.todos[TodoKey(plan: "p", todo: "t")]?.facts)
        #expect(facts.usage == TokenUsage(input: 200_000, cachedInput: 0, output: 20_000))
        #expect(abs((facts.costUSD ?? 0) - 0.6) < 1e-9, "two runs of $0.20 in and $0.10 out")
        let status = try #require(harness.core.todos.plans["p"].map { harness.core.planStatus($0) })
        #expect(status.tokens == 220_000)
        #expect(abs((status.costUSD ?? 0) - 0.6) < 1e-9)
        let report = try #require(
            try harness.control(.planReport, ReportRequest(plan: "p")).first { $0.header?.type == .planReport }?.decode(PlanReport.self)
        )
        #expect(report.markdown.contains("Model cost: $0.60."), "\(report.markdown)")
        #expect(report.markdown.contains("| 220000 ($0.60) |"), "\(report.markdown)")
        #expect(report.todos.first?.costUSD.map { abs($0 - 0.6) < 1e-9 } == true)
        let metric = harness.core.metrics.exposition().split(separator: "\n").first { $0.hasPrefix("drover_cost_usd_total ") }
        #expect(metric.flatMap { Double($0.split(separator: " ")[1]) }.map { abs($0 - 0.6) < 1e-9 } == true, "\(metric ?? "no metric")")
    }

    /// A plan and its cap: two TODOs, each run costing $0.30 at the test's prices.
    func capped(_ harness: CoreHarness) throws -> (first: AssignBody, second: AssignBody) {
        try harness.register("w1")
        let todos = ["a", "b", "c"].map { Todo(id: $0, title: $0, prompt: "do \($0)") }
        let first = try #require(try harness.submit(plan(todos)).assigns().first)
        let second = try #require(try harness.report("w1", first, usage: Self.run, model: "gpt-test").assigns().first)
        return (first, second)
    }

    static let run = TokenUsage(input: 100_000, cachedInput: 0, output: 10_000)

    @Test func aPlanAtItsCostCapIsPausedAndTheOperatorsAskedToRaiseItOrStop() throws {
        let harness = try CoreHarness(prices: Self.prices, planCostCap: 0.5)
        let (_, second) = try capped(harness)
        #expect(harness.core.inbox.isEmpty, "$0.30 of $0.50: under the cap")
        let reached = try harness.report("w1", second, usage: Self.run, model: "gpt-test")
        #expect(try reached.assigns().isEmpty, "$0.60: paused, c does not start")
        #expect(harness.core.todos.plans["p"]?.paused == true)
        #expect(reached.events.contains { $0.type == .planCostCapReached })
        let item = try #require(harness.core.inbox.items.first)
        #expect(item.kind == .budget)
        #expect(item.text.hasPrefix("Plan p has spent $0.60, reaching its cost cap of $0.50"))

        let low = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "0.4"))
        #expect(try low.errors().first?.message.contains("a new cap in dollars above the $0.60 spent") == true)
        let raised = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "$2"))
        #expect(try raised.errors().isEmpty)
        #expect(harness.core.todos.plans["p"]?.paused == false)
        #expect(try raised.assigns().map(\.lease.todo) == ["c"], "the plan goes on")
        #expect(raised.events.contains { $0.type == .planCostCapRaised && [.double(2), .int(2)].contains($0.data["cap"]) })
    }

    @Test func aDeniedCapStopsThePlan() throws {
        let harness = try CoreHarness(prices: Self.prices, planCostCap: 0.5)
        let (_, second) = try capped(harness)
        try harness.report("w1", second, usage: Self.run, model: "gpt-test")
        let item = try #require(harness.core.inbox.items.first)
        try harness.control(.answer, AnswerBody(item: item.id, decision: .deny))
        #expect(harness.state("p", "c") == "cancelled")
        #expect(harness.core.inbox.isEmpty)
    }
}
