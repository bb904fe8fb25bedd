import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// The operator's voice in a live session, with the real codex and a real worker against the scripted model:
/// `drover steer` and `drover todo pause|resume`.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexSteerTests {
    let sessions = CodexSessionTests()

    /// Runs `drover` with `arguments` against the cluster's coordinator; returns its exit status and output.
    func drover(_ cluster: Cluster, _ control: String, _ arguments: [String]) async throws -> (Int32, String) {
        let process = try TestProcess(name: arguments[0], arguments: arguments + ["--control", control], directory: cluster.directory)
        let status = try await process.wait()
        return (status, process.output)
    }

    /// Waits until the model has had `count` requests: the session is in its turn.
    func requests(_ server: ScriptedModelServer, atLeast count: Int) async throws {
        guard await eventually(within: .seconds(60), { server.responseRequests.count >= count }) else {
            throw TestFailure("the model had \(server.responseRequests.count) requests, not \(count)")
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func steerTextReachesTheModelsNextRequest(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.shell("sleep 3"), .message("Done.")], otherwise: .message("Done, with the guidance."))
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try sessions.codexWorker(cluster, server, mode: mode)
            let (refusedStatus, refused) = try await drover(cluster, endpoints.control, ["steer", "s/t", "too early"])
            #expect(refusedStatus != 0)
            #expect(refused.contains("no TODO s/t"), "\(refused)")
            try await cluster.submit(Plan(id: "s", title: "s", todos: [Todo(id: "t", prompt: "Do the task.")]))
            // The first request has been answered with the command: the turn runs it now.
            try await requests(server, atLeast: 1)
            let (status, output) = try await drover(cluster, endpoints.control, ["steer", "s/t", "Use the v2 API, not v1."])
            #expect(status == 0, "\(output)")
            #expect(output.contains("guidance sent"), "\(output)")
            let done = try await cluster.waitForPlan("s")
            #expect(done.todos.first?.state == .done)

            let later = server.responseRequests.dropFirst()
            #expect(later.contains { $0.text.contains("Use the v2 API, not v1.") }, "the guidance reached the model")
            let events = try cluster.events()
            #expect(events.contains { $0.type == .todoSteered && $0.data["text"]?.stringValue == "Use the v2 API, not v1." })
            let delivered = try #require(events.first { $0.type == .agent(.steered) }?.data["text"]?.stringValue)
            // app-server: into the running turn (`turn/steer`); exec: the next turn's input, one more turn.
            #expect(delivered.hasPrefix(mode == .appServer ? "into the running turn" : "as the next turn's input"), "\(delivered)")

            let (endedStatus, ended) = try await drover(cluster, endpoints.control, ["steer", "s/t", "anything else?"])
            #expect(endedStatus != 0)
            #expect(ended.contains("s/t is done: only a running TODO can be steered"), "\(ended)")
        }
    }

    /// A bare repository with one commit on `main`, in `directory`; returns its path.
    func makeRepository(in directory: String) async throws -> String {
        let script = """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed && cd seed \
            && git config user.email t@t && git config user.name t && echo hello > README \
            && git add README && git commit --quiet -m seed && git push --quiet origin main
            """
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        if status != 0 { throw TestFailure("making the repository failed (\(status)): \(output)") }
        return "\(directory)/remote.git"
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aPausedTodoStopsAfterItsTurnAndResumedGoesOnFromItsBranch(mode: CodexConfiguration.Mode) async throws {
        // The first session is paused after its turn; the second (after resume) goes on on its thread, at the next step.
        let server = try ScriptedModelServer(
            script: ModelScript([
                .shell("sleep 3; echo one >> progress.txt"), .message("I have started; done.txt comes next."),
                .shell("echo ok > done.txt"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            let endpoints = try await cluster.startCoordinator()
            try sessions.codexWorker(cluster, server, mode: mode)
            let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
            try await cluster.submit(Plan(id: "pz", title: "pz", repository: repository, todos: [todo]))
            try await requests(server, atLeast: 1)
            let (status, output) = try await drover(cluster, endpoints.control, ["todo", "pause", "pz/t"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("pause requested"), "\(output)")
            let paused = try await cluster.waitForStatus("pz/t to be paused") { status in
                status.todos.first { $0.plan == "pz" && $0.id == "t" }?.state == .paused
            }
            #expect(paused.workers.first?.running.isEmpty == true, "its slot is free")
            #expect(paused.plans.first { $0.id == "pz" }?.state == .running)
            #expect(server.responseRequests.count == 2, "the session stopped after its turn")
            let (_, shown) = try await drover(cluster, endpoints.control, ["status"])
            #expect(shown.contains("paused    pz/t"), "\(shown)")

            let (resumedStatus, resumed) = try await drover(cluster, endpoints.control, ["todo", "resume", "pz/t"])
            #expect(resumedStatus == 0, "\(resumed)")
            let done = try await cluster.waitForPlan("pz")
            #expect(done.todos.first { $0.plan == "pz" }?.epoch == 2, "a new session took it up")
            // The new session goes on on the thread (CodexThreadResumeTests), from the checkpoint, told it was paused.
            let opening = try #require(server.responseRequests.dropFirst(2).first).text
            #expect(opening.contains("goes on now, on this same thread"))
            #expect(opening.contains("An operator paused the session before this one"))
            let events = try cluster.events().map(\.type)
            for type in [EventType.todoPauseRequested, .agent(.paused), .todoPaused, .todoResumed] {
                #expect(events.contains(type), "\(type.rawValue)")
            }
        }
    }
}
