import DroverProtocol
import DroverTesting
import Foundation
import ScriptedModel
import Synchronization
import Testing

@testable import Worker

/// What codex 0.147 to 0.163 says about its threads, read from the real binary against the scripted model: its goal
/// loop is off in Drover's sessions, its own retries are events, and a thread another process holds fails clearly.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexThreadSignalsTests {
    func configuration(_ mode: CodexConfiguration.Mode, _ server: ScriptedModelServer, _ directory: TemporaryDirectory) throws
        -> CodexConfiguration
    {
        CodexConfiguration(
            executable: try #require(CodexConfiguration.findExecutable()),
            mode: mode,
            baseURL: server.baseURL,
            homeRoot: "\(directory.path)/codex-home"
        )
    }

    /// Runs a TODO that asks for nothing but a message; returns the result, the model's requests and the events.
    func session(
        _ mode: CodexConfiguration.Mode,
        _ script: ModelScript,
        risk: Risk? = nil,
        ask: @escaping AskHuman = { _ in HumanAnswer(decision: .deny, text: "no operator here") },
        configure: (inout CodexConfiguration) -> Void = { _ in }
    ) async throws -> (AgentResult, [RecordedRequest], [AgentEvent]) {
        let server = try ScriptedModelServer(script: script)
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workdir = "\(directory.path)/work"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        var configuration = try configuration(mode, server, directory)
        configure(&configuration)
        let task = TaskSpec(title: "t", command: nil, prompt: "Say done.", timeoutSeconds: 60, checks: [], risk: risk)
        let events = Mutex<[AgentEvent]>([])
        let context = AgentContext(
            events: { new in events.withLock { $0 += new } },
            ask: ask,
            recover: { _ in RecoveryVerdict(decision: .recover, reason: nil) }
        )
        let result = await CodexAgent(configuration: configuration).run(
            task: task,
            lease: LeaseRef(leaseId: "p/t@1", plan: "p", todo: "t", epoch: 1),
            workdir: workdir,
            context: context
        )
        return (result, server.responseRequests, events.withLock { $0 })
    }

    /// Drover's supervisor is the session's loop: codex's own goal loop (the `create_goal` tool, and the turns codex
    /// starts by itself while a goal is open) is turned off, so the model is never offered it.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func codexsGoalLoopIsOffInDroversSessions(mode: CodexConfiguration.Mode) async throws {
        let (result, requests, _) = try await session(mode, ModelScript([.message("Done.")]))
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        let body = try JSONSerialization.jsonObject(with: try #require(requests.first).body) as? [String: Any]
        let tools = (body?["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(tools.contains("exec_command"), "the request lists codex's tools: \(tools)")
        for tool in ["create_goal", "update_goal", "get_goal"] { #expect(!tools.contains(tool), "\(tool) is offered") }
    }

    /// A dropped stream that codex retries itself is an event watchers see, not a failure.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func codexRetryingTheModelIsAnEventNotAFailure(mode: CodexConfiguration.Mode) async throws {
        let (result, requests, events) = try await session(
            mode,
            ModelScript([.once(.drop, then: .message("Done."))]),
            configure: { $0.streamMaxRetries = 1 }
        )
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        #expect(requests.count == 2)
        let retries = events.filter { $0.kind == .retrying }.compactMap(\.text)
        #expect(retries.count == 1 && retries[0].hasPrefix("codex retries the model request: Reconnecting... 1/1"), "\(retries)")
        #expect(!events.contains { $0.kind == .detected }, "Drover did not have to recover: \(events)")
    }

    /// The model's `request_user_input` question (codex lets it ask with `default_mode_request_user_input` on): on a
    /// high-risk TODO it reaches an operator verbatim, with its options, and the answer reaches the model; on a
    /// low-risk one the agent is told to decide itself.
    @Test(arguments: [Risk.high, .low])
    func theModelsQuestionToTheUserGoesTheWayOfItsOtherQuestions(risk: Risk) async throws {
        let asked = Mutex<[Question]>([])
        let script = ModelScript([
            .askUser(id: "db", header: "Database", question: "Which database should the service use?", options: ["Postgres", "SQLite"]),
            .message("Done."),
        ])
        let (result, requests, events) = try await session(
            .appServer,
            script,
            risk: risk,
            ask: { question in
                asked.withLock { $0.append(question) }
                try? await Task.sleep(for: .seconds(3))  // an operator takes longer than the idle limit: not a hang
                return HumanAnswer(decision: .reply, text: "SQLite")
            },
            configure: {
                $0.features["default_mode_request_user_input"] = true
                $0.idleTimeout = .seconds(2)
            }
        )
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        #expect(!events.contains { $0.detection == .hung }, "\(events)")
        let answered = try #require(requests.last).text
        if risk == .high {
            let question = try #require(asked.withLock { $0 }.first)
            #expect(question.kind == .question)
            #expect(
                question.text.hasPrefix(
                    "codex asks: Database: Which database should the service use?\nOptions:\n- Postgres\n- SQLite\n(or any other answer)"
                ),
                "\(question.text)"
            )
            #expect(answered.contains(#"{\"answers\":{\"db\":{\"answers\":[\"SQLite\"]}}}"#), "the answer reached the model")
            #expect(events.contains { $0.kind == .detected && $0.detection == .asksHuman })
            let waiting = events.filter { $0.kind == .waiting }.compactMap(\.text)
            #expect(waiting == ["codex waits for the user's input", "codex goes on: it no longer waits"], "\(waiting)")
        } else {
            #expect(asked.withLock { $0 }.isEmpty)
            #expect(answered.contains("Use your best judgment and decide yourself"))
        }
    }

    /// The value at `keys` in nested objects.
    func field(_ value: JSONValue, _ keys: String...) -> JSONValue? {
        var value = value
        for key in keys {
            guard case .object(let object) = value, let next = object[key] else { return nil }
            value = next
        }
        return value
    }

    /// A real `thread/read` has the shape ``StalledTurnCheck`` reads a lost `turn/completed` from: the turn's status
    /// and its last message.
    @Test func aTurnsEndIsReadFromARealThreadRead() async throws {
        let server = try ScriptedModelServer(script: ModelScript([.message("Done.")]))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workdir = "\(directory.path)/work"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let configuration = try configuration(.appServer, server, directory)
        let home = "\(directory.path)/home"
        try configuration.prepareHome(at: home)
        let completed = OneTimeSignal()
        let connection = try AppServerConnection(
            arguments: [configuration.executable, "app-server"],
            environment: ProcessInfo.processInfo.environment.merging(["CODEX_HOME": home]) { $1 },
            directory: workdir,
            onNotification: { method, _ in if method == "turn/completed" { completed.fire() } },
            onRequest: { _, _ in .object([:]) }
        )
        do {
            _ = try await connection.request("initialize", ["clientInfo": .object(["name": "drover-test", "title": "t", "version": "0"])])
            try connection.notify("initialized")
            let started = try await connection.request("thread/start", ["model": .string(configuration.model), "cwd": .string(workdir)])
            let thread = try #require(field(started, "thread", "id")?.stringValue)
            let input: JSONValue = .array([.object(["type": "text", "text": "Say done."])])
            let turn = try await connection.request("turn/start", ["threadId": .string(thread), "input": input])
            let turnID = try #require(field(turn, "turn", "id")?.stringValue)
            await completed.wait()
            let read = try await connection.request("thread/read", ["threadId": .string(thread), "includeTurns": true])
            let verdict = StalledTurnCheck(grace: .zero).verdict(read: read, thread: thread, turnID: turnID, usage: [:])
            #expect(
                verdict
                    == .ended([.item(phase: "completed", type: "agent_message", fields: ["text": "Done."]), .turnCompleted(usage: [:])])
            )
        } catch {
            Issue.record("\(error)\n\(connection.stderrTail)")
        }
        _ = await connection.close()
    }

    /// Runs one turn of `script` in an app-server asked not to send `turn/completed` (its `optOutNotificationMethods`),
    /// which plays a lost one; returns the turn, how it ran and the events.
    func turnWithItsEndLost(_ script: ModelScript) async throws -> (CodexTurn, ProcessRun, [AgentEvent]) {
        let server = try ScriptedModelServer(script: script)
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workdir = "\(directory.path)/work"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        var configuration = try configuration(.appServer, server, directory)
        configuration.stalledTurnGrace = .milliseconds(500)
        let home = "\(directory.path)/home"
        try configuration.prepareHome(at: home)
        let events = Mutex<[AgentEvent]>([])
        let driver = AppServerTurnDriver(
            context: .standalone(events: { new in events.withLock { $0 += new } }),
            configuration: configuration,
            environment: ProcessInfo.processInfo.environment.merging(["CODEX_HOME": home]) { $1 },
            workdir: workdir,
            permissions: nil,
            risk: nil,
            withheld: ["turn/completed"]
        )
        let turn = CodexTurn(loopThreshold: 3)
        let run = await driver.runTurn(prompt: "Say done.", threadID: nil, turn: turn, timeout: 30)
        await driver.finish()
        #expect(!run.timedOut, "the turn was waited for until its time ran out")
        let warnings = events.withLock { $0 }.filter { $0.kind == .warning }.compactMap(\.text)
        #expect(warnings.contains { $0.contains("did not report its end") && $0.hasSuffix("read it with thread/read") }, "\(warnings)")
        return (turn, run, events.withLock { $0 })
    }

    /// The thread goes idle with no `turn/completed`: after the grace the driver reads the turn's end with
    /// `thread/read` instead of waiting for ever.
    @Test func aTurnThatNeverReportsItsEndIsReadFromTheThread() async throws {
        let (turn, _, _) = try await turnWithItsEndLost(ModelScript([.message("Done.")]))
        guard case .turnCompleted? = turn.ending else {
            Issue.record("the turn has no end: \(String(describing: turn.ending))")
            return
        }
        #expect(turn.lastMessage == "Done.")
    }

    /// A failed turn whose end is lost is read with its own failure (0.147 says `systemError` first): the message
    /// still decides what Drover does (here: a full context).
    @Test func aFailedTurnThatNeverReportsItsEndKeepsItsFailure() async throws {
        let (turn, _, events) = try await turnWithItsEndLost(
            ModelScript([.failed(code: "context_length_exceeded", message: "Your input exceeds the context window of this model.")])
        )
        #expect(events.contains { $0.kind == .error && $0.text?.hasPrefix("codex reports a system error on thread") == true }, "\(events)")
        guard case .turnFailed(let message)? = turn.ending else {
            Issue.record("the turn did not fail: \(String(describing: turn.ending))")
            return
        }
        #expect(TurnFailure(message: message).kind == .contextFull, "\(message)")
    }

    /// An app-server holds a thread, and a second codex sharing its CODEX_HOME (an app-server, or `exec resume`)
    /// cannot resume it: the turn fails with a text that names the thread and what to do, instead of looking like a
    /// crash to resume again.
    @Test(arguments: CodexConfiguration.Mode.allCases)
    func resumingAThreadAnotherCodexHoldsFailsClearly(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(script: ModelScript([.message("First."), .message("Second.")]))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workdir = "\(directory.path)/work"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let configuration = try configuration(.appServer, server, directory)
        let home = "\(directory.path)/shared-home"
        try configuration.prepareHome(at: home)
        let environment = ProcessInfo.processInfo.environment.merging(["CODEX_HOME": home]) { $1 }
        let events = Mutex<[AgentEvent]>([])
        func driver() -> AppServerTurnDriver {
            AppServerTurnDriver(
                context: .standalone(events: { new in events.withLock { $0 += new } }),
                configuration: configuration,
                environment: environment,
                workdir: workdir,
                permissions: nil,
                risk: nil
            )
        }
        let holder = driver()
        let other: any CodexTurnDriver =
            mode == .appServer
            ? driver()
            : ExecTurnDriver(
                configuration: configuration,
                environment: environment,
                workdir: workdir,
                permissions: nil,
                grace: .seconds(2),
                events: { new in events.withLock { $0 += new } }
            )
        let first = CodexTurn(loopThreshold: 3)
        _ = await holder.runTurn(prompt: "Say first.", threadID: nil, turn: first, timeout: 60)
        let thread = try #require(first.threadID)
        #expect(first.lastMessage == "First.")

        let second = CodexTurn(loopThreshold: 3)
        let run = await other.runTurn(prompt: "Say second.", threadID: thread, turn: second, timeout: 60)
        await holder.finish()
        await other.finish()
        #expect(run.status != 0)
        guard case .turnFailed(let message)? = second.ending else {
            Issue.record("the turn did not fail: \(String(describing: second.ending)); \(run.tail)")
            return
        }
        #expect(message.hasPrefix("thread \(thread) is held by another codex process"), "\(message)")
        #expect(message.contains("already has an active writer") && message.contains("stop that process"))
        #expect(events.withLock { $0 }.contains { $0.kind == .turnFailed && $0.text == message })
        #expect(server.responseRequests.count == 1, "the second turn never reached the model")
    }
}
