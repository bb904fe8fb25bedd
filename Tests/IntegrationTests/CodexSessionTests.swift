import DroverProtocol
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// The real codex binary, driven by a real worker process, talking to the scripted model on 127.0.0.1.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexSessionTests {
    func codexWorker(_ cluster: Cluster, _ server: ScriptedModelServer, mode: CodexConfiguration.Mode, extra: [String] = []) throws {
        try cluster.startWorker(
            "codex-1",
            extra: [
                "--agent", "codex", "--codex-mode", mode.rawValue, "--model-base-url", server.baseURL, "--codex-home",
                "\(cluster.directory)/codex-home",
            ] + extra
        )
    }

    /// Runs one codex TODO to `state` against `script`; returns its status, the model's requests and the events.
    func scenario(
        _ mode: CodexConfiguration.Mode,
        _ script: ModelScript,
        todo: Todo,
        state: TodoState = .done,
        worker: [String] = []
    ) async throws -> (StatusBody.TodoStatus, [RecordedRequest], [Event]) {
        try await scenario(mode, scripts: [script], todo: todo, state: state, worker: worker)
    }

    /// ``scenario(_:_:todo:state:worker:)`` with several scripts on the model server, each for the requests it matches.
    func scenario(
        _ mode: CodexConfiguration.Mode,
        scripts: [ModelScript],
        todo: Todo,
        state: TodoState = .done,
        worker: [String] = []
    ) async throws -> (StatusBody.TodoStatus, [RecordedRequest], [Event]) {
        let server = try ScriptedModelServer(scripts: scripts)
        defer { server.stop() }
        return try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode, extra: worker)
            try await cluster.submit(Plan(id: "s", title: "s", todos: [todo]))
            let status: StatusBody
            do {
                status = try await cluster.waitForPlan("s", toBe: state == .done ? .done : .failed)
            } catch {
                // What the session did, for the reader of a failure: the status alone does not say.
                let events = (try? cluster.events().map { "\($0.type) \($0.data["text"]?.stringValue ?? "")" }) ?? []
                throw TestFailure("\(error)\nevents: \(events)\nmodel requests: \(server.responseRequests.count)")
            }
            let todoStatus = try #require(status.todos.first)
            #expect(todoStatus.state == state)
            return (todoStatus, server.responseRequests, try cluster.events())
        }
    }

    /// SIGKILLs the codex processes whose CODEX_HOME lies under `home`; returns how many.
    static func killCodex(home: String) -> Int {
        var killed = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                String(decoding: cmdline, as: UTF8.self).contains("codex"),
                String(decoding: environ, as: UTF8.self).contains("CODEX_HOME=\(home)")
            else { continue }
            if kill(pid, SIGKILL) == 0 { killed += 1 }
        }
        return killed
    }

    func detections(_ events: [Event]) -> [String] {
        events.filter { $0.type == .agent(.detected) }.compactMap { $0.data["text"]?.stringValue?.components(separatedBy: ":").first }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func codexRunsAToolCallAndTheTodoIsDoneWhenItsCheckPasses(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.shell("echo hello from codex > greeting.txt"), .message("I wrote greeting.txt.")])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
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
            #expect(events.contains { $0.type == .agent(.thread) })
            #expect(
                events.contains { $0.type == .agent(.command) && $0.data["text"]?.stringValue?.contains("echo hello from codex") == true }
            )
            #expect(events.contains { $0.type == .agent(.turnCompleted) })
            #expect(cluster.lines(of: "greeting.txt") == ["hello from codex"])
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aModelErrorFailsTheTurnAndTheTodoSaysWhy(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([], otherwise: .httpError(status: 400, body: #"{"error":{"message":"boom: this request is not valid"}}"#))
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            try await cluster.submit(Plan(id: "broken", title: "broken", todos: [Todo(id: "t", prompt: "Do something.")]))
            let status = try await cluster.waitForPlan("broken", toBe: .failed)
            let detail = try #require(status.todos.first?.detail)
            #expect(detail.contains("codex turn failed"), "\(detail)")
            #expect(try cluster.events().contains { $0.type == .agent(.turnFailed) })
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aTurnThatStopsEarlyIsContinuedOnTheSameThreadWithTheFailingCheck(mode: CodexConfiguration.Mode) async throws {
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
            try codexWorker(cluster, server, mode: mode)
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
            #expect(events.contains { $0.type == .agent(.detected) && $0.data["text"]?.stringValue?.hasPrefix("stopped_early") == true })
            #expect(events.contains { $0.type == .agent(.recovery) && $0.data["text"]?.stringValue?.hasPrefix("repair") == true })
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func checksThatKeepFailingEndTheTodoAfterItsTurnBudget(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(script: ModelScript([], otherwise: .message("All done!")))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            let todo = Todo(id: "t", prompt: "Create result.txt.", checks: [Check(file: "result.txt")], budget: Budget(turns: 2))
            try await cluster.submit(Plan(id: "claims", title: "claims", todos: [todo]))
            let status = try await cluster.waitForPlan("claims", toBe: .failed)
            let detail = try #require(status.todos.first?.detail)
            #expect(detail.contains("over budget: 2 turns spent"), "codex saying it is done is not enough: \(detail)")
            #expect(status.todos.first?.state == .escalated)
            #expect(detail.contains("result.txt does not exist"))
            #expect(server.responseRequests.count == 2)
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aHungTurnIsStoppedAndTheThreadResumedWithANudge(mode: CodexConfiguration.Mode) async throws {
        let (todo, requests, events) = try await scenario(
            mode,
            ModelScript([.once(.silence, then: .shell("echo ok > done.txt")), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Make done.txt.", checks: [Check(file: "done.txt")]),
            // Long enough that a resumed codex starting up on a loaded machine is not taken for a second hang.
            worker: ["--idle-timeout", "5"]
        )
        #expect(detections(events) == ["hung"])
        #expect(
            events.contains {
                $0.type == .agent(.recovery) && $0.data["text"]?.stringValue?.contains("resume the thread with a nudge") == true
            }
        )
        #expect(requests.count == 3)
        #expect(requests[1].text.contains("You stopped responding"), "the nudge reached the model")
        #expect(todo.detail?.contains("codex finished in 2 turns") == true)
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aTransientErrorIsRetriedAfterTheDelayTheServerAskedFor(mode: CodexConfiguration.Mode) async throws {
        let limited = ModelScript.Reply.failed(
            code: "rate_limit_exceeded",
            message: "Rate limit reached for gpt-5.5. Please try again in 0.3s."
        )
        let (todo, requests, events) = try await scenario(
            mode,
            ModelScript([.once(limited, then: .message("Done."))]),
            todo: Todo(id: "t", prompt: "Say done.")
        )
        #expect(detections(events) == ["transient_error"])
        #expect(events.contains { $0.type == .agent(.recovery) && $0.data["text"]?.stringValue?.contains("back off 0.3 seconds") == true })
        #expect(requests.count == 2)
        #expect(todo.detail?.contains("codex finished in 1 turn") == true, "a turn the model never had does not count")
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aLoopIsStoppedAndSteeredToAnotherApproach(mode: CodexConfiguration.Mode) async throws {
        // The first `ls` may see the directory before codex's files are in it: the loop is seen at the third or the
        // fourth. exec can only stop codex; until then its next request gets no answer, so however late the stop
        // comes, the steered turn (its requests carry the steer) starts at step 3 or 4, and either way makes the
        // file (twice from 3: not a loop) and ends.
        let loop = ModelScript(
            mode == .exec
                ? [.shell("ls"), .shell("ls"), .shell("ls"), .shell("ls"), .silence]
                : [.shell("ls"), .shell("ls"), .shell("ls"), .shell("ls"), .shell("echo fixed > done.txt"), .message("Done.")]
        )
        let fix: ModelScript.Reply = .shell("echo fixed > done.txt")
        let steered = ModelScript(
            [.shell("ls"), .shell("ls"), .shell("ls"), fix, fix, .message("Done.")],
            match: "You are repeating yourself"
        )
        let (todo, requests, events) = try await scenario(
            mode,
            scripts: mode == .exec ? [steered, loop] : [loop],
            todo: Todo(id: "t", prompt: "Make done.txt.", checks: [Check(file: "done.txt")])
        )
        #expect(
            detections(events) == ["looping"],
            "\(events.filter { $0.type.subject == "agent" }.map { "\($0.type) \($0.data["text"]?.stringValue ?? "")" })"
        )
        let steer = try #require(requests.first { $0.text.contains("You are repeating yourself") })
        #expect(steer.text.contains("`/bin/bash -lc ls` ran 3 times") || steer.text.contains("ran 3 times"))
        #expect(todo.state == .done)
        // app-server steers the running turn (`turn/steer`); exec can only stop codex and start a turn.
        let action = mode == .appServer ? "steer the running turn" : "stop codex and steer it"
        #expect(events.contains { $0.type == .agent(.recovery) && $0.data["text"]?.stringValue?.hasPrefix(action) == true })
        #expect(todo.detail?.contains("in 1 turn") == (mode == .appServer), "\(todo.detail ?? "")")
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aQuestionIsAnsweredByPolicyForLowRisk(mode: CodexConfiguration.Mode) async throws {
        let (_, requests, events) = try await scenario(
            mode,
            ModelScript([.message("Should I use tabs or spaces?"), .shell("echo x > done.txt"), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Make done.txt.", checks: [Check(file: "done.txt")], risk: .low)
        )
        #expect(detections(events) == ["asks_human"])
        #expect(requests[1].text.contains("Use your best judgment"))
    }

    /// Polls `drover inbox --json` until an item is there.
    func inboxItem(_ cluster: Cluster, control: String) async throws -> InboxItem {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            let listing = try TestProcess(
                name: "inbox",
                arguments: ["inbox", "--json", "--control", control],
                directory: cluster.directory
            )
            try await listing.wait()
            if let item = (try? JSONDecoder().decode(InboxBody.self, from: Data(listing.output.utf8)))?.items.first { return item }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no inbox item appeared")
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aQuestionOnAHighRiskTodoIsAnsweredByAnOperator(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.message("Shall I drop the staging table?"), .shell("echo dropped > done.txt"), .message("Done.")])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            let todo = Todo(id: "t", prompt: "Clean up the database.", checks: [Check(file: "done.txt")], risk: .high)
            try await cluster.submit(Plan(id: "q", title: "q", todos: [todo]))
            let item = try await inboxItem(cluster, control: endpoints.control)
            #expect(item.kind == .question)
            #expect(item.text.contains("Shall I drop the staging table?"))
            let answer = try TestProcess(
                name: "answer",
                // By item id, or by the TODO that waits: both name the same item.
                arguments: ["answer", mode == .exec ? "q/t" : item.id, "yes, only staging", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await answer.wait() == 0, "\(answer.output)")
            try await cluster.waitForPlan("q")
            #expect(server.responseRequests[1].text.contains("The operator answers: yes, only staging"), "the answer reached the model")
        }
    }

    /// Told to decide itself, the agent asks again: the question reaches the inbox as asked, though the TODO's risk is
    /// low, and the operator's answer completes the TODO on the same thread.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aQuestionAskedAgainAfterDecideYourselfReachesAHuman(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .message("Which port should the server listen on?"),
                .message("I cannot tell from the repository: which port should the server listen on?"),
                .shell("echo 8080 > done.txt"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            let todo = Todo(id: "t", prompt: "Configure the server.", checks: [Check(file: "done.txt")], risk: .low)
            try await cluster.submit(Plan(id: "ask", title: "ask", todos: [todo]))
            let item = try await inboxItem(cluster, control: endpoints.control)
            #expect(item.kind == .question)
            #expect(
                item.text.hasPrefix("codex asks: I cannot tell from the repository: which port should the server listen on?"),
                "verbatim"
            )
            #expect(item.text.contains("it asked again after being told to decide itself"))
            let answer = try TestProcess(
                name: "answer",
                arguments: ["answer", item.id, "8080", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await answer.wait() == 0, "\(answer.output)")
            let status = try await cluster.waitForPlan("ask")
            #expect(status.todos.first?.state == .done)
            #expect(server.responseRequests[1].text.contains("decide yourself"), "first told to decide")
            #expect(server.responseRequests[2].text.contains("The operator answers: 8080"), "the answer went on the same thread")
        }
    }

    @Test func aDeniedQuestionEndsTheTodoWithTheQuestion() async throws {
        let server = try ScriptedModelServer(script: ModelScript([.message("Shall I drop the production table?")]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: .appServer)
            let todo = Todo(id: "t", prompt: "Clean up the database.", checks: [Check(file: "done.txt")], risk: .critical)
            try await cluster.submit(Plan(id: "q", title: "q", todos: [todo]))
            let item = try await inboxItem(cluster, control: endpoints.control)
            let deny = try TestProcess(
                name: "deny",
                arguments: ["deny", item.id, "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await deny.wait() == 0)
            let status = try await cluster.waitForPlan("q", toBe: .failed)
            let detail = try #require(status.todos.first?.detail)
            #expect(detail.contains("the answer was no"), "\(detail)")
            #expect(status.todos.first?.state == .escalated)
            #expect(detail.contains("Shall I drop the production table?"))
            #expect(server.responseRequests.count == 1, "nothing more was asked of the model")
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aFullContextStartsANewThreadSeededWithASummary(mode: CodexConfiguration.Mode) async throws {
        let full = ModelScript.Reply.failed(
            code: "context_length_exceeded",
            message: "Your input exceeds the context window of this model."
        )
        let (todo, requests, events) = try await scenario(
            mode,
            ModelScript([.once(full, then: .shell("echo x > done.txt")), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Make done.txt.", checks: [Check(file: "done.txt")])
        )
        #expect(detections(events) == ["context_full"])
        #expect(requests[1].text.contains("An earlier session ran out of context"))
        #expect(todo.state == .done)
        let threads = Set(events.filter { $0.type == .agent(.thread) }.compactMap { $0.data["text"]?.stringValue })
        #expect(threads.count == 2, "a new thread")
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aUsageLimitWithNoResetTimeIsEscalatedNotRetried(mode: CodexConfiguration.Mode) async throws {
        let body = #"{"error":{"type":"usage_limit_reached","plan_type":"plus"}}"#
        let (todo, requests, events) = try await scenario(
            mode,
            ModelScript([], otherwise: .httpError(status: 429, body: body)),
            todo: Todo(id: "t", prompt: "Anything."),
            state: .escalated
        )
        #expect(todo.detail?.contains("usage limit reached, and codex named no reset time") == true, "\(todo.detail ?? "")")
        #expect(requests.count == 1)
        #expect(!events.contains { $0.type == .todoParked })
    }

    /// codex writes the reset in its local time, to the minute (2030-03-17 17:46:40 UTC: "Mar 17th, 2030 5:46 PM" in
    /// UTC); read back in the same zone, it is the end of that minute, years past `--max-park`.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aUsageLimitResettingPastMaxParkIsEscalatedWithItsTime(mode: CodexConfiguration.Mode) async throws {
        let body = #"{"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":1900000000}}"#
        let server = try ScriptedModelServer(script: ModelScript([], otherwise: .httpError(status: 429, body: body)))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator(extra: ["--max-park", "3600"])
            try codexWorker(cluster, server, mode: mode)
            try await cluster.submit(Plan(id: "s", title: "s", todos: [Todo(id: "t", prompt: "Anything.")]))
            let status = try await cluster.waitForPlan("s", toBe: .failed)
            let todo = try #require(status.todos.first)
            #expect(todo.state == .escalated)
            let detail = todo.detail ?? ""
            let resumeAt = try #require(
                ResetTime.read("try again at Mar 17th, 2030 5:46 PM", now: Date(), timeZone: .current)
                    .map { Int64($0.timeIntervalSince1970 * 1000) }
            )
            #expect(
                detail.contains("it resets at \(Date(timeIntervalSince1970: Double(resumeAt) / 1000).formatted(.iso8601))"),
                "\(detail)"
            )
            #expect(detail.contains("beyond --max-park (1h)"), "\(detail)")
            let events = try cluster.events()
            #expect(detections(events) == ["usage_limit"])
            #expect(events.first { $0.type == .todoEscalated }?.data["resume_at"] == .int(resumeAt))
            #expect(server.responseRequests.count == 1)
        }
    }

    /// The server's body reaches Drover whole in a 400 (codex passes its text on): its `resets_at` is exact, a few
    /// seconds away. The TODO parks, its slot goes to the other TODO, and at the reset it resumes by itself to done.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aUsageLimitWithANearResetParksFreesTheSlotAndResumes(mode: CodexConfiguration.Mode) async throws {
        let resetsAt = Int(Date().timeIntervalSince1970) + 8
        let body = #"{"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":\#(resetsAt)}}"#
        let server = try ScriptedModelServer(scripts: [
            ModelScript(
                [.once(.httpError(status: 400, body: body), then: .shell("echo a > a.txt")), .message("Done.")],
                match: "ALPHA"
            ),
            ModelScript([.shell("echo b > b.txt"), .message("Done.")], match: "BETA"),
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)  // one slot
            let todos = [
                Todo(id: "a", prompt: "ALPHA: write a.txt.", checks: [Check(file: "a.txt")]),
                Todo(id: "b", prompt: "BETA: write b.txt.", checks: [Check(file: "b.txt")]),
            ]
            try await cluster.submit(Plan(id: "park", title: "park", todos: todos))
            let status = try await cluster.waitForPlan("park")
            #expect(status.todos.map(\.state) == [.done, .done])
            #expect(status.todos.first?.epoch == 2, "a second lease after the reset")
            #expect(cluster.lines(of: "a.txt") == ["a"])
            let events = try cluster.events()
            #expect(detections(events) == ["usage_limit"])
            let parked = try #require(events.first { $0.type == .todoParked && $0.todo == "a" })
            #expect(parked.data["resume_at"] == .int(Int64(resetsAt) * 1000))
            #expect(parked.data["evidence"]?.stringValue?.contains("usage_limit_reached") == true)
            let bRan = try #require(events.first { $0.type == .todoRunning && $0.todo == "b" })
            let resumed = try #require(events.first { $0.type == .todoResumed && $0.todo == "a" })
            let aAgain = try #require(events.last { $0.type == .todoRunning && $0.todo == "a" })
            #expect(parked.seq < bRan.seq, "b got the slot a freed")
            #expect(resumed.ts >= Int64(resetsAt) * 1000, "not before the reset")
            #expect(resumed.seq < aAgain.seq)
            #expect(events.contains { $0.type == .todoAssigned && $0.todo == "a" && $0.data["epoch"] == .int(2) })
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aCrashedSessionIsResumed(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(script: ModelScript([.once(.silence, then: .message("Done after the crash."))]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            try await cluster.submit(Plan(id: "crash", title: "crash", todos: [Todo(id: "t", prompt: "Say done.")]))
            try await cluster.waitForStatus("codex to be waiting for the model") { _ in server.responseRequests.count >= 1 }
            // Kill codex itself (not the worker): it dies without ending its turn, as a crash does.
            #expect(Self.killCodex(home: "\(cluster.directory)/codex-home") > 0, "codex was found and killed")
            let status = try await cluster.waitForPlan("crash")
            #expect(status.todos.first?.epoch == 1, "recovered inside the same lease")
            let detected = try cluster.events().filter { $0.type == .agent(.detected) }.compactMap { $0.data["text"]?.stringValue }
            #expect(detected.count == 1)
            #expect(detected.first?.hasPrefix("crashed: codex exited with status 137") == true, "\(detected)")
            #expect(server.responseRequests.count == 2)
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aCodexWorkerRunsCommandTodosAsCommands(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(script: ModelScript([.shell("echo from codex > codex.txt"), .message("Done.")]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: mode)
            let todos = [
                Todo(id: "shell", command: "echo from a command > command.txt"),
                Todo(id: "agent", prompt: "Write codex.txt.", dependsOn: ["shell"], checks: [Check(file: "codex.txt")]),
            ]
            try await cluster.submit(Plan(id: "mixed", title: "mixed", todos: todos))
            try await cluster.waitForPlan("mixed")
            #expect(cluster.lines(of: "command.txt") == ["from a command"])
            #expect(cluster.lines(of: "codex.txt") == ["from codex"])
            #expect(server.responseRequests.count == 2, "only the prompt went to the model")
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aReadOnlyTodoCannotWriteItsFiles(mode: CodexConfiguration.Mode) async throws {
        let (todo, requests, _) = try await scenario(
            mode,
            ModelScript([.shell("echo x > written.txt"), .message("Tried.")]),
            todo: Todo(
                id: "t",
                prompt: "Write written.txt.",
                checks: [Check(file: "written.txt")],
                budget: Budget(turns: 1),
                permissions: Permissions(sandbox: "read-only")
            ),
            state: .escalated
        )
        #expect(todo.detail?.contains("over budget: 1 turns spent") == true, "\(todo.detail ?? "")")
        let toolOutput = try #require(requests.dropFirst().first).text
        #expect(
            toolOutput.contains("Read-only file system") || toolOutput.contains("Permission denied")
                || toolOutput.contains("not permitted"),
            "the sandbox refused the write: \(toolOutput.suffix(600))"
        )
    }

    @Test func anApprovalInsideThePolicyIsGivenAtOnce() async throws {
        let (_, _, events) = try await scenario(
            .appServer,
            ModelScript([.escalatedShell("echo escalated > approved.txt", justification: "needs to write outside"), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Write approved.txt.", risk: .low)
        )
        let approvals = events.filter { $0.type == .agent(.approval) }.compactMap { $0.data["text"]?.stringValue }
        #expect(approvals.count == 1 && approvals[0].hasPrefix("accepted by policy (risk low)"), "\(approvals)")
        #expect(events.contains { $0.type == .agent(.command) && $0.data["text"]?.stringValue?.contains("(exit 0)") == true })
    }

    @Test(arguments: [Decision.approve, .deny])
    func anApprovalOutsideThePolicyWaitsInTheInboxForAnOperator(decision: Decision) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([
                .escalatedShell("echo escalated > approved.txt", justification: "needs to write outside"), .message("Done."),
            ])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try codexWorker(cluster, server, mode: .appServer, extra: ["--idle-timeout", "2"])
            try await cluster.submit(Plan(id: "ask", title: "ask", todos: [Todo(id: "t", prompt: "Write approved.txt.", risk: .high)]))

            // The item shows in `drover inbox --json`; the session waits (longer than the idle limit: waiting is not hanging).
            var items: [InboxItem] = []
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while items.isEmpty && ContinuousClock.now < deadline {
                let listing = try TestProcess(
                    name: "inbox",
                    arguments: ["inbox", "--json", "--control", endpoints.control],
                    directory: cluster.directory
                )
                try await listing.wait()
                items = (try? JSONDecoder().decode(InboxBody.self, from: Data(listing.output.utf8)).items) ?? []
                if items.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            let item = try #require(items.first)
            #expect(item.kind == .approval)
            #expect(item.text.contains("echo escalated > approved.txt"))
            #expect(item.todo == "t")
            try await Task.sleep(for: .seconds(3))  // past the idle limit, on purpose: the session must still be waiting
            #expect(
                try cluster.events().contains { $0.type == .agent(.detected) && $0.data["text"]?.stringValue?.hasPrefix("hung") == true }
                    == false
            )
            let waiting = try cluster.events().filter { $0.type == .agent(.waiting) }.compactMap { $0.data["text"]?.stringValue }
            #expect(waiting == ["codex waits for an approval"], "codex's thread status is seen")

            let answer = try TestProcess(
                name: decision.rawValue,
                arguments: [decision.rawValue, item.id, "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await answer.wait() == 0, "\(answer.output)")
            try await cluster.waitForPlan("ask")
            let events = try cluster.events()
            #expect(events.contains { $0.type == .inboxAnswered && $0.data["decision"]?.stringValue == decision.rawValue })
            let ran = events.contains { $0.type == .agent(.command) && $0.data["text"]?.stringValue?.contains("(exit 0)") == true }
            #expect(ran == (decision == .approve))
            #expect(FileManager.default.fileExists(atPath: "\(cluster.directory)/approved.txt") == (decision == .approve))

            // Answering twice is refused with the reason.
            let again = try TestProcess(
                name: "again",
                arguments: ["approve", item.id, "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await again.wait() != 0)
            #expect(again.output.contains("no inbox item"))
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aSessionPastItsTokenBudgetIsEscalated(mode: CodexConfiguration.Mode) async throws {
        // Each scripted response reports 100 input and 10 output tokens; two of them exceed a budget of 150.
        let (todo, _, _) = try await scenario(
            mode,
            ModelScript([.shell("true"), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Run true.", budget: Budget(tokens: 150)),
            state: .escalated
        )
        #expect(todo.detail?.contains("over budget:") == true && todo.detail?.contains("the budget is 150") == true, "\(todo.detail ?? "")")
    }

    @Test func theCoordinatorsPolicyEscalatesPastItsRecoveryLimit() async throws {
        let server = try ScriptedModelServer(script: ModelScript([], otherwise: .message("All done!")))
        defer { server.stop() }
        try await Cluster.with { cluster in
            try await cluster.startCoordinator(extra: ["--recovery-limit", "stopped_early=1"])
            try codexWorker(cluster, server, mode: .appServer)
            let todo = Todo(id: "t", prompt: "Create result.txt.", checks: [Check(file: "result.txt")], budget: Budget(turns: 10))
            try await cluster.submit(Plan(id: "limit", title: "limit", todos: [todo]))
            let status = try await cluster.waitForPlan("limit", toBe: .failed)
            #expect(status.todos.first?.state == .escalated)
            #expect(
                status.todos.first?.detail?.contains("the limit of 1 stopped_early recoveries for this TODO is reached") == true,
                "\(status.todos)"
            )
            #expect(server.responseRequests.count == 2, "one repair, then the policy said stop")
            let decisions = try cluster.events().filter { $0.type == .policyDecided }.compactMap { $0.data["decision"]?.stringValue }
            #expect(decisions == ["recover", "escalate"])
        }
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aLongRunningCommandIsNotAStall(mode: CodexConfiguration.Mode) async throws {
        let (todo, _, events) = try await scenario(
            mode,
            ModelScript([.shell("sleep 3 && echo ok > done.txt"), .message("Done.")]),
            todo: Todo(id: "t", prompt: "Make done.txt slowly.", checks: [Check(file: "done.txt")]),
            worker: ["--idle-timeout", "1"]
        )
        #expect(detections(events).isEmpty, "a 3 s command with a 1 s idle limit is not a hang")
        #expect(todo.detail?.contains("codex finished in 1 turn") == true)
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aDroppedStreamIsRetried(mode: CodexConfiguration.Mode) async throws {
        let (todo, requests, events) = try await scenario(
            mode,
            ModelScript([.once(.drop, then: .message("Done."))]),
            todo: Todo(id: "t", prompt: "Say done.")
        )
        #expect(detections(events) == ["transient_error"])
        #expect(requests.count == 2)
        #expect(todo.state == .done)
    }

    /// `drover review --ai`: a read-only codex session answers in the review's output schema, and the narrative
    /// comes back marked as the model's.
    @Test func reviewAsksACodexReviewerForAStructuredNarrative() async throws {
        let answer = #"{"summary":"One TODO is done; nothing is left.","concerns":["no tests ran"],"suggestions":["merge drover/ai/a"]}"#
        let server = try ScriptedModelServer(script: ModelScript([.message(answer)]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            try await cluster.submit(Plan(id: "ai", title: "ai", todos: [Todo(id: "a", command: "true")]))
            try await cluster.waitForPlan("ai")
            let review = try TestProcess(
                name: "review",
                arguments: [
                    "review", "--ai", "--json", "--control", endpoints.control, "--model-base-url", server.baseURL, "--model",
                    "reviewer-model",
                ],
                directory: cluster.directory
            )
            #expect(try await review.wait(timeout: .seconds(120)) == 0, "\(review.output)")
            let body = try JSONDecoder().decode(ReviewBody.self, from: Data(review.output.utf8))
            #expect(
                body.narrative
                    == ReviewBody.Narrative(
                        source: "codex",
                        model: "reviewer-model",
                        summary: "One TODO is done; nothing is left.",
                        concerns: ["no tests ran"],
                        suggestions: ["merge drover/ai/a"]
                    )
            )
            let request = try #require(server.responseRequests.first).text
            #expect(request.contains("codex_output_schema"), "the schema went to the model as the response format")
            #expect(request.contains("nothing is left to do"), "the coordinator's figures are in the prompt")
            // A reviewer that fails (the model refuses the request): the figures still come, the failure is said
            // after them, and the status is not 0.
            let refusing = try ScriptedModelServer(
                script: ModelScript([], otherwise: .httpError(status: 400, body: #"{"error":{"message":"bad request from the test"}}"#))
            )
            defer { refusing.stop() }
            let failed = try TestProcess(
                name: "review",
                arguments: ["review", "--ai", "--control", endpoints.control, "--model-base-url", refusing.baseURL],
                directory: cluster.directory
            )
            let status = try await failed.wait(timeout: .seconds(120))
            #expect(status == 1, "\(status)")
            #expect(failed.output.contains("NEXT STEPS"))
            #expect(failed.output.contains("no AI narrative: the Codex reviewer exited with status"), "\(failed.output.suffix(800))")
        }
    }
}
