import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// The advisor with real processes and real codex against the scripted model: a session that keeps stopping without
/// doing the work runs out of rules; the advisor, itself a codex session on a worker, says what to do next, and that
/// reaches the live thread; or it asks a human, and the operator's answer does.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
struct AdvisorSessionTests {
    /// The stuck session: three turns that end without doing anything, then the work.
    static let stuck = ModelScript([
        .message("Done."), .message("Done."), .message("Done."), .shell("echo ok > done.txt"), .message("done.txt is there now."),
    ])

    static func advisor(needsHuman: Bool) -> ModelScript {
        let advice = Advice(
            diagnosis: "The agent says it is done but never writes done.txt.",
            nextInstruction: needsHuman ? "" : "Run `echo ok > done.txt` in the working directory, then stop.",
            needsHuman: needsHuman,
            questionForHuman: needsHuman ? "Should done.txt hold anything in particular?" : "",
            reason: "The check is a file that no turn created."
        )
        return ModelScript([.message(String(decoding: try! JSONEncoder().encode(advice), as: UTF8.self))], match: "Drover advisor")
    }

    func start(_ cluster: Cluster, _ server: ScriptedModelServer) async throws -> Endpoints {
        let endpoints = try await cluster.startCoordinator()
        try cluster.startWorker(
            "codex-1",
            slots: 2,
            extra: ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(cluster.directory)/codex-home"]
        )
        let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
        try await cluster.submit(Plan(id: "adv", title: "adv", todos: [todo]))
        return endpoints
    }

    @Test func theAdvisorsInstructionReachesTheLiveThreadAndTheCheckPasses() async throws {
        let server = try ScriptedModelServer(scripts: [Self.advisor(needsHuman: false), Self.stuck])
        defer { server.stop() }
        try await Cluster.with { cluster in
            _ = try await start(cluster, server)
            let status = try await cluster.waitForPlan("adv")
            #expect(status.todos.first { $0.id == "t" }?.state == .done)
            let events = try cluster.events()
            let advised = try #require(events.first { $0.type == .todoAdvised })
            #expect(advised.data["next_instruction"] == "Run `echo ok > done.txt` in the working directory, then stop.")
            #expect(events.contains { $0.type == .todoAdviceRequested && $0.data["advisor"] == "adv-help/advice-1" })
            let advisorRequest = try #require(server.responseRequests.first { $0.text.contains("Drover advisor") })
            #expect(advisorRequest.text.contains("Write done.txt."), "the advisor reads the TODO")
            let advisedTurn = try #require(server.responseRequests.first { $0.text.contains("Advice from a reviewer") })
            #expect(advisedTurn.text.contains("Run `echo ok > done.txt`"), "the instruction went into the live thread")
            #expect(!advisedTurn.text.contains("Drover advisor"), "in the stuck session's own thread, not the advisor's")
        }
    }

    @Test func anAdvisorThatNeedsAHumanAsksOneAndTheAnswerReachesTheThread() async throws {
        let server = try ScriptedModelServer(scripts: [Self.advisor(needsHuman: true), Self.stuck])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await start(cluster, server)
            var item: InboxItem?
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while item == nil, ContinuousClock.now < deadline {
                let listing = try cluster.start("inbox", ["inbox", "--json", "--control", endpoints.control])
                _ = try await listing.wait()
                item = (try? JSONDecoder().decode(InboxBody.self, from: Data(listing.output.utf8)))?.items.first
            }
            let question = try #require(item)
            #expect(question.text.hasPrefix("The advisor asks: Should done.txt hold anything in particular?"))
            let answer = try cluster.start("answer", ["answer", question.id, "Just the word ok.", "--control", endpoints.control])
            #expect(try await answer.wait() == 0, "\(answer.output)")
            let status = try await cluster.waitForPlan("adv")
            #expect(status.todos.first { $0.id == "t" }?.state == .done)
            let answered = try #require(server.responseRequests.first { $0.text.contains("Advice from a reviewer") })
            #expect(answered.text.contains("the operator answers: Just the word ok."))
        }
    }
}
