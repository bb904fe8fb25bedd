import DroverProtocol
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// Spend with the real codex and real processes: the session's tokens count while it runs, and a TODO that reaches
/// its cost cap is paused after its turn and goes on when an operator raises the cap.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexSpendTests {
    /// The scripted model reports 100 input tokens a response: at $1000 a million, each costs $0.10.
    static let price = "gpt-5.5=1000,0,0"

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aTodoAtItsCostCapIsPausedAfterItsTurnAndGoesOnWhenTheCapIsRaised(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.message("I looked around first."), .shell("echo ok > result.txt"), .message("Done.")])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator(extra: ["--price", Self.price])
            try CodexSessionTests().codexWorker(cluster, server, mode: mode)
            let todo = Todo(
                id: "t",
                prompt: "Put ok in result.txt.",
                checks: [Check(file: "result.txt", pattern: "ok")],
                budget: Budget(turns: 6, cost: 0.05)
            )
            try await cluster.submit(Plan(id: "s", title: "s", todos: [todo]))

            // The first turn costs $0.10: past the cap, the session stops after it and the operators are asked.
            let item = try await CodexSessionTests().inboxItem(cluster, control: endpoints.control)
            #expect(item.id == "s-t-cost")
            #expect(item.kind == .budget)
            #expect(item.text.hasPrefix("TODO s/t has spent $0.10, reaching its cost cap of $0.05"), "\(item.text)")
            let paused = try await cluster.waitForStatus("s/t paused") { $0.todos.first?.state == .paused }
            let spent = try #require(paused.plans.first { $0.id == "s" }?.costUSD)
            #expect(abs(spent - 0.1) < 1e-9, "the paused run's report counts nothing twice: \(spent)")
            #expect(server.responseRequests.count == 1, "no turn after the one that reached the cap")

            let answer = try TestProcess(
                name: "answer",
                arguments: ["answer", item.id, "1", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await answer.wait() == 0, "\(answer.output)")
            let done = try await cluster.waitForPlan("s")
            let total = try #require(done.plans.first { $0.id == "s" }?.costUSD)
            // Each model response cost $0.10, and each is counted once: live, and not again by the reports.
            let responses = server.responseRequests.count
            #expect(abs(total - Double(responses) * 0.1) < 1e-9, "\(responses) responses, $\(total)")
            let events = try cluster.events()
            let reports = events.filter { $0.type == .todoPaused || $0.type == .todoDone }
            #expect(reports.allSatisfy { $0.data["live_cost_usd"] == $0.data["cost_usd"] }, "each run was counted live in full")
            let usage = events.filter { $0.type == .agent(.usage) }
            #expect(usage.count >= 2, "the sessions said what they spent after their turns")
            #expect(usage.first?.data["model"] == "gpt-5.5")
            #expect(events.contains { $0.type == .todoCostCapReached })
            #expect(events.contains { $0.type == .todoCostCapRaised })
        }
    }
}
