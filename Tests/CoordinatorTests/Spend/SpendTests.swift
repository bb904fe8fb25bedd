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
}
