import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// A TODO's cost cap (`budget: { cost: … }`): reached, the TODO is paused after its turn and the operators are
/// asked to raise the cap or stop it.
@Suite struct TodoCostCapTests {
    static let turn = LiveSpendTests.turn
    let key = TodoKey(plan: "p", todo: "t")

    /// A TODO capped at $0.50 running on w1, and one after it; each turn costs $0.30.
    func running(_ harness: CoreHarness) throws -> AssignBody {
        try harness.register("w1")
        let todos = [
            Todo(id: "t", prompt: "do it", budget: Budget(cost: 0.5)),
            Todo(id: "u", prompt: "then", dependsOn: ["t"]),
        ]
        let assign = try #require(try harness.submit(plan(todos)).assigns().first)
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: assign.lease.epoch))
        return assign
    }

    /// Runs `assign` past its cap: two turns, $0.60; returns what the second turn's usage brought.
    @discardableResult
    func reachCap(_ harness: CoreHarness, _ assign: AssignBody) throws -> [Sent] {
        let under = try sendUsage(harness, "w1", assign, Self.turn)
        #expect(harness.core.inbox.isEmpty, "$0.30 of $0.50")
        #expect(!under.contains { $0.header?.type == .control })
        return try sendUsage(harness, "w1", assign, Self.turn + Self.turn)
    }

    @Test func aTodoAtItsCapIsPausedAfterItsTurnAndGoesOnWhenTheCapIsRaised() throws {
        let harness = try CoreHarness(prices: SpendTests.prices)
        let assign = try running(harness)
        let reached = try reachCap(harness, assign)
        let control = try #require(reached.first { $0.header?.type == .control }).decode(ControlBody.self)
        #expect(control.action == .pause, "the session stops after its turn, as an operator's pause")
        #expect(reached.eventTypes.contains("todo.pause_requested"))
        let event = try #require(reached.events.first { $0.type == .todoCostCapReached })
        #expect(number(event.data["cap"]) == 0.5)
        let item = try #require(harness.core.inbox.items.first)
        #expect(item.id == "p-t-cost")
        #expect(item.kind == .budget)
        #expect(item.todo == "t")
        #expect(item.text.hasPrefix("TODO p/t has spent $0.60, reaching its cost cap of $0.50"), "\(item.text)")
        #expect(item.text.contains("gpt-test at $2 input, $0.5 cached input, $10 output per million tokens"), "\(item.text)")
        #expect(item.text.contains("drover answer p-t-cost"))

        // The session stops after its turn: the TODO waits paused; its report does not count the live spend again.
        let stopped = try harness.report("w1", assign, .paused, usage: Self.turn + Self.turn, model: "gpt-test")
        #expect(stopped.eventTypes.contains("todo.paused"))
        #expect(harness.state("p", "t") == "paused")
        #expect(harness.core.todos[key]?.facts.costUSD.map { abs($0 - 0.6) < 1e-9 } == true)
        #expect(harness.core.inbox.items.count == 1, "asked once")
        #expect(
            harness.core.todos[key]?.detail
                == "paused at its cost cap ($0.60 spent, the cap is $0.50): `drover answer p-t-cost DOLLARS` raises it, `drover deny p-t-cost` stops it"
        )

        let low = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "0.5"))
        #expect(try low.errors().first?.message.contains("a new cap in dollars above the $0.60 spent") == true)
        let raised = try harness.control(.answer, AnswerBody(item: item.id, decision: .reply, text: "$2"))
        #expect(try raised.errors().isEmpty)
        #expect(raised.eventTypes.contains("todo.cost_cap_raised"))
        #expect(raised.eventTypes.contains("todo.resumed"))
        #expect(harness.core.todos[key]?.facts.costCap == 2)
        #expect(harness.core.status(of: key)?.costCap == 2, "drover status shows the raised cap")
        let again = try #require(try raised.assigns(to: "w1").first)
        #expect(again.lease.epoch == 2)
        let more = try sendUsage(harness, "w1", again, Self.turn)
        #expect(harness.core.inbox.isEmpty, "$0.90 of the raised $2")
        #expect(!more.contains { $0.header?.type == .control })
        try harness.report("w1", again, usage: Self.turn, model: "gpt-test")
        #expect(harness.state("p", "t") == "done")
    }

    @Test func aCapRaisedBeforeTheSessionStoppedResumesItWhenItHas() throws {
        let harness = try CoreHarness(prices: SpendTests.prices)
        let assign = try running(harness)
        try reachCap(harness, assign)
        try harness.control(.answer, AnswerBody(item: "p-t-cost", decision: .reply, text: "3"))
        #expect(harness.state("p", "t") == "running")
        let stopped = try harness.report("w1", assign, .paused, usage: Self.turn + Self.turn, model: "gpt-test")
        #expect(stopped.eventTypes.contains("todo.resumed"))
        #expect(try stopped.assigns(to: "w1").first?.lease.epoch == 2)
    }

    @Test func aDeniedCapEscalatesTheTodoNamingTheCap() throws {
        let harness = try CoreHarness(prices: SpendTests.prices)
        let assign = try running(harness)
        try reachCap(harness, assign)
        try harness.control(.answer, AnswerBody(item: "p-t-cost", decision: .deny))
        #expect(harness.state("p", "t") == "running", "its session is stopping after its turn")
        let stopped = try harness.report("w1", assign, .paused, usage: Self.turn + Self.turn, model: "gpt-test")
        #expect(harness.state("p", "t") == "escalated")
        #expect(harness.state("p", "u") == "skipped")
        let detail = harness.core.todos[key]?.detail ?? ""
        #expect(detail == "stopped at its cost cap: $0.60 spent, the cap is $0.50", "\(detail)")
        #expect(try stopped.assigns().isEmpty)
        #expect(harness.core.inbox.isEmpty)

        // Denied once it is paused: escalated at once.
        let other = try CoreHarness(prices: SpendTests.prices)
        let second = try running(other)
        try reachCap(other, second)
        try other.report("w1", second, .paused, usage: Self.turn + Self.turn, model: "gpt-test")
        let denied = try other.control(.answer, AnswerBody(item: "p-t-cost", decision: .deny))
        #expect(denied.eventTypes.contains("todo.escalated"))
        #expect(other.state("p", "t") == "escalated")
    }

    @Test func raisedCapsSurviveARestartAndATodoPausedAtItsCapIsAskedAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-cost-cap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path, prices: SpendTests.prices)
        let assign = try running(harness)
        try reachCap(harness, assign)
        try harness.report("w1", assign, .paused, usage: Self.turn + Self.turn, model: "gpt-test")

        // Restarted while it waits paused at its cap: the question is asked again (the inbox is not stored).
        try harness.restart()
        #expect(harness.state("p", "t") == "paused")
        let item = try #require(harness.core.inbox["p-t-cost"]?.item)
        #expect(item.text.hasPrefix("TODO p/t has spent $0.60, reaching its cost cap of $0.50"), "\(item.text)")
        try harness.register("w1")
        let raised = try harness.control(.answer, AnswerBody(item: "p-t-cost", decision: .reply, text: "1"))
        let again = try #require(try raised.assigns(to: "w1").first)

        // Restarted again: the raised cap is kept; $0.90 of $1 asks nothing.
        try harness.restart()
        #expect(harness.core.todos[key]?.facts.costCap == 1)
        try harness.register("w1", holding: [again.lease])
        try sendUsage(harness, "w1", again, Self.turn)
        #expect(harness.core.inbox.isEmpty)
    }

    @Test func aPlansRaisedCapSurvivesARestartAndAPlanPausedAtItsCapIsAskedAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-plan-cap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(
            statePath: directory.appendingPathComponent("state.sqlite").path,
            prices: SpendTests.prices,
            planCostCap: 0.5
        )
        let (_, second) = try SpendTests().capped(harness)
        try harness.report("w1", second, usage: SpendTests.run, model: "gpt-test")
        #expect(harness.core.todos.plans["p"]?.paused == true)

        try harness.restart()
        #expect(harness.core.todos.plans["p"]?.paused == true)
        #expect(harness.core.inbox["p-cost"] != nil, "asked again after the restart")
        try harness.register("w1")
        let raised = try harness.control(.answer, AnswerBody(item: "p-cost", decision: .reply, text: "2"))
        let third = try #require(try raised.assigns().first)

        try harness.restart()
        #expect(harness.core.todos.plans["p"]?.costCap == 2)
        try harness.register("w1", holding: [third.lease])
        try harness.report("w1", third, usage: SpendTests.run, model: "gpt-test")
        #expect(harness.core.inbox.isEmpty, "$0.90 of the raised $2")
        #expect(harness.core.todos.plans["p"]?.state == .done)
    }
}
