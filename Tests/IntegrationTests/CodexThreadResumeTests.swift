import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// A paused or parked TODO goes on on the same codex thread, on any worker: the real codex, real coordinator and
/// worker processes, the scripted model. The model's step is the number of assistant items in its request, so a
/// resumed thread goes on at the script's next step and a new thread starts at its first; the requests themselves
/// show which it was (the first turn's words are in a resumed thread's history, not in a new one's).
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexThreadResumeTests {
    let steer = CodexSteerTests()

    /// What the first session's agent says at the end of its first turn: found again in a resumed thread's history.
    static let marker = "MARKER-7f3e: progress.txt is started; done.txt comes next."

    func worker(_ cluster: Cluster, _ id: String, _ server: ScriptedModelServer, mode: CodexConfiguration.Mode) throws {
        try cluster.startWorker(
            id,
            extra: [
                "--agent", "codex", "--codex-mode", mode.rawValue, "--model-base-url", server.baseURL, "--codex-home",
                "\(cluster.directory)/codex-home-\(id)",
            ]
        )
    }

    /// The assistant messages in a request's history: what the thread said before.
    static func assistantMessages(_ request: RecordedRequest) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
            let input = object["input"] as? [[String: Any]]
        else { return [] }
        return input.filter { $0["type"] as? String == "message" && $0["role"] as? String == "assistant" }.map { item in
            let content = item["content"] as? [[String: Any]] ?? []
            return content.compactMap { $0["text"] as? String }.joined()
        }
    }

    func threadEvents(_ cluster: Cluster) throws -> [String] {
        try cluster.events().filter { $0.type == .agent(.thread) }.compactMap { $0.data["text"]?.stringValue }
    }

    /// Paused after its first turn on one worker, resumed on another: the model's next request is the same thread
    /// (the first turn's prompt and message are in it, the task is not given again), and the TODO ends done.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aPausedTodoResumesOnTheSameThreadOnAnotherWorker(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .shell("sleep 3; echo one >> progress.txt"), .message(Self.marker), .shell("echo ok > done.txt"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await steer.makeRepository(in: cluster.directory)
            let endpoints = try await cluster.startCoordinator()
            try worker(cluster, "codex-1", server, mode: mode)
            let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
            try await cluster.submit(Plan(id: "pz", title: "pz", repository: repository, todos: [todo]))
            try await steer.requests(server, atLeast: 1)
            let (status, output) = try await steer.drover(cluster, endpoints.control, ["todo", "pause", "pz/t"])
            #expect(status == 0, "\(output)")
            try await cluster.waitForStatus("pz/t to be paused") { status in
                status.todos.first { $0.plan == "pz" && $0.id == "t" }?.state == .paused
            }
            let paused = try #require(try cluster.events().first { $0.type == .todoPaused })
            let thread = try #require(paused.data["thread_id"]?.stringValue, "the report named the stored thread")
            let (refStatus, refs) = try await GuardedProcess.output(
                of: ["/usr/bin/env", "git", "-C", repository, "ls-tree", "-r", "--name-only", "refs/drover/threads/pz/t"],
                in: cluster.directory
            )
            #expect(refStatus == 0 && refs.contains("-\(thread).jsonl") && refs.hasPrefix("sessions/"), "\(refs)")

            // Another worker takes it: the first one is gone.
            await cluster.killWorker("codex-1")
            try await cluster.waitForStatus("codex-1 to be lost") { status in !status.workers.contains { $0.id == "codex-1" } }
            try worker(cluster, "codex-2", server, mode: mode)
            let (resumedStatus, resumed) = try await steer.drover(cluster, endpoints.control, ["todo", "resume", "pz/t"])
            #expect(resumedStatus == 0, "\(resumed)")
            let done = try await cluster.waitForPlan("pz")
            #expect(done.todos.first { $0.plan == "pz" }?.state == .done)
            #expect(done.todos.first { $0.plan == "pz" }?.epoch == 2, "a new session took it up")

            let request = try #require(server.responseRequests.dropFirst(2).first)
            let next = request.text
            #expect(Self.assistantMessages(request) == [Self.marker], "the first turn's message is in the thread's history")
            #expect(ModelScript.assistantItems(in: request.body) == 2, "the first turn's command and message")
            #expect(next.contains("Write done.txt."), "the first turn's prompt is in the thread")
            #expect(next.contains("goes on now, on this same thread"), "told it goes on")
            #expect(!next.contains("Earlier work on this task, by another session"), "not a new thread's opening")
            #expect(server.responseRequests.count == 4, "no new thread: the script went on at its third step")
            let threads = try threadEvents(cluster)
            #expect(threads.contains { $0.hasPrefix("codex thread \(thread) stored in refs/drover/threads/pz/t") }, "\(threads)")
            #expect(threads.contains("resuming codex thread \(thread), stored beside the checkpoint"), "\(threads)")
            #expect(!threads.contains { $0.hasPrefix("could not") }, "\(threads)")
            let assigned = try cluster.events().last { $0.type == .todoAssigned }
            #expect(assigned?.worker == "codex-2")
            // Done, the TODO needs its thread no more: the ref is removed from the repository.
            #expect(threads.contains { $0.hasPrefix("removed the stored codex thread refs/drover/threads/pz/t") }, "\(threads)")
            let (_, left) = try await GuardedProcess.output(
                of: ["/usr/bin/env", "git", "-C", repository, "for-each-ref", "refs/drover/threads"],
                in: cluster.directory
            )
            #expect(left.isEmpty, "\(left)")
        }
    }

    /// A usage limit with a reset a few seconds away parks the TODO in its second turn; at the reset the next session
    /// goes on on the same thread (the first turn's message is in its request) and the TODO ends done.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aParkedTodoResumesOnTheSameThreadAtItsReset(mode: CodexConfiguration.Mode) async throws {
        let resetsAt = Int(Date().timeIntervalSince1970) + 6
        let body = #"{"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":\#(resetsAt)}}"#
        let server = try ScriptedModelServer(
            script: ModelScript([
                .shell("echo one >> progress.txt"), .message(Self.marker),
                .once(.httpError(status: 400, body: body), then: .shell("echo ok > done.txt")), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await steer.makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try worker(cluster, "codex-1", server, mode: mode)
            let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
            try await cluster.submit(Plan(id: "pk", title: "pk", repository: repository, todos: [todo]))
            let done = try await cluster.waitForPlan("pk")
            #expect(done.todos.first { $0.plan == "pk" }?.state == .done)
            #expect(done.todos.first { $0.plan == "pk" }?.epoch == 2, "a second lease after the reset")
            let events = try cluster.events()
            let parked = try #require(events.first { $0.type == .todoParked })
            let thread = try #require(parked.data["thread_id"]?.stringValue, "the report named the stored thread")
            #expect(server.responseRequests.count == 5, "three before the limit, two after: \(server.responseRequests.count)")
            let request = try #require(server.responseRequests.dropFirst(3).first)
            #expect(Self.assistantMessages(request) == [Self.marker], "the first turn's message is in the thread's history")
            #expect(request.text.contains("goes on now, on this same thread"))
            let threads = try threadEvents(cluster)
            #expect(threads.contains("resuming codex thread \(thread), stored beside the checkpoint"), "\(threads)")
        }
    }

    /// The stored thread is gone (its ref deleted): the next session says so and starts a new thread, told what the
    /// session before did, and the TODO still ends done.
    @Test func aMissingStoredThreadFallsBackToANewThreadWithTheHandover() async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .shell("sleep 3; echo one >> progress.txt"), .message(Self.marker), .shell("echo ok > done.txt"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await steer.makeRepository(in: cluster.directory)
            let endpoints = try await cluster.startCoordinator()
            try worker(cluster, "codex-1", server, mode: .exec)
            let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
            try await cluster.submit(Plan(id: "fb", title: "fb", repository: repository, todos: [todo]))
            try await steer.requests(server, atLeast: 1)
            _ = try await steer.drover(cluster, endpoints.control, ["todo", "pause", "fb/t"])
            try await cluster.waitForStatus("fb/t to be paused") { status in
                status.todos.first { $0.plan == "fb" && $0.id == "t" }?.state == .paused
            }
            let thread = try #require(try cluster.events().first { $0.type == .todoPaused }?.data["thread_id"]?.stringValue)
            let (deleted, output) = try await GuardedProcess.output(
                of: ["/usr/bin/env", "git", "-C", repository, "update-ref", "-d", "refs/drover/threads/fb/t"],
                in: cluster.directory
            )
            #expect(deleted == 0, "\(output)")
            _ = try await steer.drover(cluster, endpoints.control, ["todo", "resume", "fb/t"])
            let done = try await cluster.waitForPlan("fb")
            #expect(done.todos.first { $0.plan == "fb" }?.state == .done)
            let request = try #require(server.responseRequests.dropFirst(2).first)
            let opening = request.text
            #expect(opening.contains("Earlier work on this task, by another session, is already in the files"))
            #expect(opening.contains("An operator paused the session before this one"))
            #expect(ModelScript.assistantItems(in: request.body) == 0, "a new thread: nothing of the first one in it")
            let threads = try threadEvents(cluster)
            #expect(
                threads.contains { $0.hasPrefix("could not resume codex thread \(thread)") && $0.contains("no stored thread") },
                "\(threads)"
            )
            let log = cluster.workers["codex-1"]?.output ?? ""
            #expect(log.contains("could not resume codex thread \(thread)"), "in the worker's log: \(log.suffix(2000))")
        }
    }

    /// The stored rollout is not one codex can read (its file replaced by other text, under the same name): codex
    /// refuses the thread, and the session starts a new one with the handover, saying so.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aRolloutCodexRefusesFallsBackToANewThread(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .shell("sleep 3; echo one >> progress.txt"), .message(Self.marker), .shell("echo ok > done.txt"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await steer.makeRepository(in: cluster.directory)
            let endpoints = try await cluster.startCoordinator()
            try worker(cluster, "codex-1", server, mode: mode)
            let todo = Todo(id: "t", prompt: "Write done.txt.", checks: [Check(file: "done.txt")])
            try await cluster.submit(Plan(id: "cr", title: "cr", repository: repository, todos: [todo]))
            try await steer.requests(server, atLeast: 1)
            _ = try await steer.drover(cluster, endpoints.control, ["todo", "pause", "cr/t"])
            try await cluster.waitForStatus("cr/t to be paused") { status in
                status.todos.first { $0.plan == "cr" && $0.id == "t" }?.state == .paused
            }
            let thread = try #require(try cluster.events().first { $0.type == .todoPaused }?.data["thread_id"]?.stringValue)
            // The same path in a new commit on the ref, holding text that is no rollout.
            let script = """
                set -e; ref=refs/drover/threads/cr/t; path=$(git -C remote.git ls-tree -r --name-only $ref)
                blob=$(echo 'this is not a rollout' | git -C remote.git hash-object -w --stdin)
                export GIT_INDEX_FILE=$PWD/corrupt-index
                git -C remote.git update-index --add --cacheinfo "100644,$blob,$path"
                tree=$(git -C remote.git write-tree)
                commit=$(git -C remote.git -c user.name=t -c user.email=t@t commit-tree "$tree" -m corrupt)
                git -C remote.git update-ref $ref "$commit"
                """
            let (corrupted, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: cluster.directory)
            #expect(corrupted == 0, "\(output)")
            _ = try await steer.drover(cluster, endpoints.control, ["todo", "resume", "cr/t"])
            let done = try await cluster.waitForPlan("cr")
            #expect(done.todos.first { $0.plan == "cr" }?.state == .done)
            let threads = try threadEvents(cluster)
            #expect(threads.contains("resuming codex thread \(thread), stored beside the checkpoint"), "\(threads)")
            #expect(threads.contains { $0.hasPrefix("could not resume codex thread \(thread) (codex ran no thread") }, "\(threads)")
            let request = try #require(server.responseRequests.dropFirst(2).first)
            #expect(request.text.contains("Earlier work on this task, by another session, is already in the files"))
            #expect(ModelScript.assistantItems(in: request.body) == 0, "a new thread")
        }
    }
}
