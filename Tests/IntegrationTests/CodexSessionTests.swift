import Foundation
import ScriptedModel
import Shared
import Testing
import Worker

/// The real codex binary, driven by a real worker process, talking to the scripted model on 127.0.0.1.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexSessionTests {
    func codexWorker(_ cluster: Cluster, _ server: ScriptedModelServer) throws {
        try cluster.startWorker(
            "codex-1",
            extra: ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(cluster.directory)/codex-home"]
        )
    }

    @Test func codexRunsAToolCallAndTheTodoIsDoneWhenItsCheckPasses() async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.shell("echo hello from codex > greeting.txt"), .message("I wrote greeting.txt.")])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server)
            let todo = Todo(
                id: "greet",
                prompt: "Write a greeting into greeting.txt.",
                checks: [Check(file: "greeting.txt", pattern: "hello from codex")]
            )
            try await cluster.submit(Plan(id: "codex", title: "codex", todos: [todo]))
            let status = try await cluster.waitForPlan("codex")
            #expect(status.todos.first?.detail?.contains("I wrote greeting.txt.") == true)

            let requests = server.responseRequests
            #expect(requests.count == 2, "one request for the tool call, one after its output")
            #expect(requests.first?.text.contains("Write a greeting into greeting.txt.") == true, "the prompt reached the model")
            #expect(requests.last?.text.contains("function_call_output") == true, "the command's output went back to the model")
            let events = try cluster.events()
            #expect(events.contains { $0.type == "agent.thread" })
            #expect(
                events.contains { $0.type == "agent.command" && $0.data["text"]?.stringValue?.contains("echo hello from codex") == true }
            )
            #expect(events.contains { $0.type == "agent.turn_completed" })
            #expect(cluster.lines(of: "greeting.txt") == ["hello from codex"])
        }
    }

    @Test func aModelErrorFailsTheTurnAndTheTodoSaysWhy() async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([], otherwise: .httpError(status: 500, body: #"{"error":{"message":"boom"}}"#))
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server)
            try await cluster.submit(Plan(id: "broken", title: "broken", todos: [Todo(id: "t", prompt: "Do something.")]))
            let status = try await cluster.waitForPlan("broken", toBe: "failed")
            let detail = try #require(status.todos.first?.detail)
            #expect(detail.contains("codex turn failed"), "\(detail)")
            #expect(try cluster.events().contains { $0.type == "agent.turn_failed" })
        }
    }

    @Test func aTurnThatStopsEarlyIsContinuedOnTheSameThreadWithTheFailingCheck() async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .message("I have looked around; I will create result.txt next."),
                .shell("echo 42 > result.txt"),
                .message("Created result.txt."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server)
            let todo = Todo(id: "answer", prompt: "Put the answer in result.txt.", checks: [Check(file: "result.txt", pattern: "42")])
            try await cluster.submit(Plan(id: "early", title: "early", todos: [todo]))
            let status = try await cluster.waitForPlan("early")
            #expect(status.todos.first?.detail?.contains("codex finished in 2 turns") == true, "\(status.todos)")

            let requests = server.responseRequests
            #expect(requests.count == 3)
            let repair = try #require(requests.dropFirst().first).text
            #expect(repair.contains("acceptance checks still fail"), "the repair prompt reached the model")
            #expect(repair.contains("result.txt does not exist"), "with the failing check's output")
            #expect(repair.contains("I will create result.txt next."), "on the same thread: the first turn is in the history")
            let events = try cluster.events()
            #expect(events.contains { $0.type == "agent.detected" && $0.data["text"]?.stringValue?.hasPrefix("stopped_early") == true })
            #expect(events.contains { $0.type == "agent.recovery" && $0.data["text"]?.stringValue?.hasPrefix("repair") == true })
        }
    }

    @Test func checksThatKeepFailingEndTheTodoAfterItsTurnBudget() async throws {
        let server = try ScriptedModelServer(script: ModelScript([], otherwise: .message("All done!")))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server)
            let todo = Todo(id: "t", prompt: "Create result.txt.", checks: [Check(file: "result.txt")], budget: Budget(turns: 2))
            try await cluster.submit(Plan(id: "claims", title: "claims", todos: [todo]))
            let status = try await cluster.waitForPlan("claims", toBe: "failed")
            let detail = try #require(status.todos.first?.detail)
            #expect(detail.contains("check failed after 2 turns"), "codex saying it is done is not enough: \(detail)")
            #expect(detail.contains("result.txt does not exist"))
            #expect(server.responseRequests.count == 2)
        }
    }
}
