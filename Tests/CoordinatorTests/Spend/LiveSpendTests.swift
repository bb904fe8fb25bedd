import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// A session's tokens so far, as its worker sends them after each turn (agent event `usage`).
@discardableResult
func sendUsage(_ harness: CoreHarness, _ worker: String, _ assign: AssignBody, _ usage: TokenUsage, model: String = "gpt-test") throws
    -> [Sent]
{
    try harness.fromWorker(
        worker,
        .progress,
        ProgressBody(
            leaseId: assign.lease.leaseId,
            epoch: assign.lease.epoch,
            events: [AgentEvent(kind: .usage, usage: usage, model: model)]
        )
    )
}

/// A number in an event's data (a whole one reads back as an integer).
func number(_ value: JSONValue?) -> Double? {
    switch value {
    case .double(let number)?: number
    case .int(let number)?: Double(number)
    default: nil
    }
}

/// A metric's value from the core's exposition.
func metric(_ harness: CoreHarness, _ name: String) -> Double? {
    harness.core.metrics.exposition().split(separator: "\n").first { $0.hasPrefix("\(name) ") }.flatMap {
        Double($0.split(separator: " ")[1])
    }
}

/// Spend is live: what a running session has used counts as it runs, and its report adds only the rest.
@Suite struct LiveSpendTests {
    static let prices = SpendTests.prices
    /// $0.20 in, $0.10 out at the test's prices.
    static let turn = TokenUsage(input: 100_000, cachedInput: 0, output: 10_000)

    func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-9 } ?? false }

    @Test func aRunningSessionsUsageCountsAsItRunsAndItsReportDoesNotCountItTwice() throws {
        let harness = try CoreHarness(prices: Self.prices)
        try harness.register("w1")
        let assign = try #require(try harness.submit(plan([Todo(id: "t", prompt: "do it")])).assigns().first)
        let key = TodoKey(plan: "p", todo: "t")

        let first = try sendUsage(harness, "w1", assign, Self.turn)
        let event = try #require(first.events.first { $0.type == .agent(.usage) })
        #expect(close(number(event.data["cost_usd"]), 0.3), "what this turn added: \(event.data)")
        #expect(event.data["tokens"]?.intValue == 110_000)
        #expect(close(harness.core.todos[key]?.facts.costUSD, 0.3))
        let status = try #require(harness.core.todos.plans["p"].map { harness.core.planStatus($0) })
        #expect(close(status.costUSD, 0.3), "the plan's status is live")
        #expect(close(harness.core.status(of: key)?.costUSD, 0.3), "and the TODO's")
        #expect(harness.core.status(of: key)?.tokens == 110_000)
        #expect(status.tokens == 110_000)

        // The next turn: the running total grew; a resent or late total that is not larger adds nothing.
        try sendUsage(harness, "w1", assign, Self.turn + Self.turn)
        try sendUsage(harness, "w1", assign, Self.turn)
        #expect(close(harness.core.todos[key]?.facts.costUSD, 0.6))
        #expect(close(metric(harness, "drover_cost_usd_total"), 0.6))

        // The report's total is the run's: only what is beyond the live count is added.
        let final = TokenUsage(input: 250_000, cachedInput: 0, output: 25_000)
        let reported = try harness.report("w1", assign, usage: final, model: "gpt-test")
        let facts = try #require(harness.core.todos[key]?.facts)
        #expect(facts.usage == final)
        #expect(facts.tokens == final.total)
        #expect(close(facts.costUSD, 0.75))
        #expect(facts.runLease == nil && facts.runUsage == nil)
        let done = try #require(reported.events.first { $0.type == .todoDone })
        #expect(close(number(done.data["cost_usd"]), 0.75), "the todo event says what the run cost")
        #expect(close(number(done.data["live_cost_usd"]), 0.6))
        #expect(close(metric(harness, "drover_cost_usd_total"), 0.75), "counted once")
        #expect(metric(harness, "drover_tokens_total") == Double(final.total))
    }

    @Test func aRunThatEndsWithNoReportKeepsWhatItSpentAndTheNextRunCountsFromZero() throws {
        let harness = try CoreHarness(prices: Self.prices)
        try harness.register("w1")
        let first = try #require(try harness.submit(plan([Todo(id: "t", prompt: "do it")])).assigns().first)
        try sendUsage(harness, "w1", first, Self.turn)
        // The worker goes silent: its lease expires and the TODO goes to another worker.
        try harness.tick(advancing: 3_000)
        let second = try #require(try harness.register("w2").assigns(to: "w2").first)
        #expect(second.lease.epoch == 2)
        try sendUsage(harness, "w2", second, Self.turn)
        let key = TodoKey(plan: "p", todo: "t")
        #expect(close(harness.core.todos[key]?.facts.costUSD, 0.6), "the lost run's $0.30 stays, the new run adds its own")
        try harness.report("w2", second, usage: Self.turn, model: "gpt-test")
        #expect(close(harness.core.todos[key]?.facts.costUSD, 0.6))
    }

    @Test func usageOnAProgressEventIsValidated() throws {
        let bad = ProgressBody(
            leaseId: "p/t@1",
            epoch: 1,
            events: [AgentEvent(kind: .usage, usage: TokenUsage(input: -1), model: "m")]
        )
        #expect(throws: ProtocolError.self) { try bad.validate() }
        let body = ProgressBody(leaseId: "p/t@1", epoch: 1, events: [AgentEvent(kind: .usage, usage: Self.turn, model: "m")])
        let codec = WireCodec()
        #expect(try codec.decode(ProgressBody.self, from: codec.json(body)) == body)
    }
}
