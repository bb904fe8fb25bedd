import DroverProtocol
import Foundation
import Synchronization

/// Runs a session's turns in one `codex app-server` process: `thread/start` once, `turn/start` per turn,
/// `turn/steer` when the watchdog sees a loop (with the policy's consent) or an operator's guidance comes, `turn/interrupt` when it hangs, loops again
/// or runs out of time, `thread/resume` in a new process after a crash. Approval requests are answered by the TODO's
/// risk (``SessionSupervisor/agentMayDecideAlone(risk:)``): accepted when the agent may decide alone; otherwise an
/// operator decides through the coordinator's inbox while the turn waits.
final class AppServerTurnDriver: CodexTurnDriver {
    private let context: AgentContext
    private let configuration: CodexConfiguration
    private let environment: [String: String]
    private let workdir: String
    private let permissions: Permissions?
    private let risk: Risk?
    /// The JSON Schema the final message must follow (``TaskSpec/output``), sent with every `turn/start`: unlike the
    /// other overrides it does not persist across turns.
    private let outputSchema: JSONValue?
    /// Notifications codex is asked not to send besides the deltas (`optOutNotificationMethods`): for tests, to play
    /// a lost one (`turn/completed`).
    private let withheld: [String]
    private let state = Mutex(State())

    private struct State {
        var connection: AppServerConnection?
        var threadID: String?
        var turn: CodexTurn?
        var turnID: String?
        /// Fired by the `turn/completed` notification of the running turn.
        var completed: OneTimeSignal?
        var usage: [String: JSONValue] = [:]
        /// The thread's last status in the running turn (`thread/status/changed`).
        var status: ThreadStatus?
        var stalled = StalledTurnCheck(grace: .seconds(5))
    }

    /// What ended a wait for the turn.
    private enum Wake: Sendable {
        case completed
        case serverEnded
        /// The watchdog: the turn hung, looped, or ran out of time (`timedOut`).
        case stuck(timedOut: Bool)
        case cancelled
    }

    init(
        context: AgentContext,
        configuration: CodexConfiguration,
        environment: [String: String],
        workdir: String,
        permissions: Permissions?,
        risk: Risk?,
        outputSchema: JSONValue? = nil,
        withheld: [String] = []
    ) {
        self.outputSchema = outputSchema
        self.withheld = withheld
        self.context = context
        self.configuration = configuration
        self.environment = environment
        self.workdir = workdir
        self.permissions = permissions
        self.risk = risk
    }

    private var events: @Sendable ([AgentEvent]) -> Void { context.events }

    func runTurn(prompt: String, threadID: String?, turn: CodexTurn, timeout: Double?) async -> ProcessRun {
        let connection: AppServerConnection
        do {
            connection = try await ready(threadID: threadID, turn: turn)
        } catch {
            let stderr = state.withLock { $0.connection?.stderrTail } ?? ""
            if let threadID, let held = HeldThread.failure(resuming: threadID, error: "\(error)") {
                turn.feed([.turnFailed(message: held)])
                events([CodexExecEvent.turnFailed(message: held).agentEvent])
            }
            // A server left without its thread is no use to the next turn: it starts (or resumes) in a new one.
            await finish()
            return ProcessRun(status: 1, timedOut: false, tail: "codex app-server: \(error)\n\(stderr)")
        }
        let completed = OneTimeSignal()
        let thread = state.withLock { state -> String in
            state.turn = turn
            state.turnID = nil
            state.completed = completed
            state.status = nil
            state.stalled = StalledTurnCheck(grace: configuration.stalledTurnGrace)
            return state.threadID ?? ""
        }
        var params: [String: JSONValue] = [
            "threadId": .string(thread), "input": .array([.object(["type": "text", "text": .string(prompt)])]),
        ]
        if let outputSchema { params["outputSchema"] = outputSchema }
        do {
            let started = try await connection.request("turn/start", params)
            if case .object(let result) = started, case .object(let turnObject)? = result["turn"] {
                state.withLock { $0.turnID = turnObject["id"]?.stringValue }
            }
        } catch {
            return ProcessRun(status: 1, timedOut: false, tail: "turn/start failed: \(error)\n\(connection.stderrTail)")
        }

        // Wait for `turn/completed` or the server's end, racing the watchdog.
        let deadline = timeout.map { ContinuousClock.now.advanced(by: .milliseconds(Int64($0 * 1000))) }
        var wake = await firstOf(completed, connection.ended) {
            await self.watch(connection, thread: thread, turn: turn, deadline: deadline)
        }
        var timedOut = false
        if case .stuck(let overTime) = wake {
            timedOut = overTime
            await interrupt(connection, thread: thread)
            wake = await firstOf(completed, connection.ended) {
                try? await Task.sleep(for: .seconds(5))
                return .stuck(timedOut: overTime)
            }
            if case .stuck = wake, !Task.isCancelled {
                // It did not stop when asked: end the process; the next turn resumes the thread in a new one.
                await finish()
            }
        }
        if Task.isCancelled {
            await interrupt(connection, thread: thread)
            await finish()
        } else if case .serverEnded = wake {
            let status = await connection.close()
            state.withLock { $0.connection = nil }
            return ProcessRun(status: status, timedOut: false, tail: connection.stderrTail)
        }
        return ProcessRun(status: 0, timedOut: timedOut, tail: connection.stderrTail)
    }

    /// Waits for whichever comes first: `completed`, `ended`, or what `other` returns; the others are cancelled.
    /// No polling: the notification handler fires `completed`, the connection's reader fires `ended`.
    private func firstOf(
        _ completed: OneTimeSignal,
        _ ended: OneTimeSignal,
        or other: @escaping @Sendable () async -> Wake
    ) async -> Wake {
        await withTaskGroup(of: Wake.self) { group in
            group.addTask {
                await completed.wait()
                return completed.hasFired ? .completed : .cancelled
            }
            group.addTask {
                await ended.wait()
                return ended.hasFired ? .serverEnded : .cancelled
            }
            group.addTask { await other() }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            // A completed turn wins over what happened at the same moment (its server ending, the watchdog).
            return completed.hasFired ? .completed : first
        }
    }

    /// The watchdog of a running turn: steers a loop (once, with the policy's consent), and returns when the turn
    /// hangs, loops again or passes `deadline`. Hanging is silence over time, so this one looks at a clock.
    private func watch(_ connection: AppServerConnection, thread: String, turn: CodexTurn, deadline: ContinuousClock.Instant?) async -> Wake
    {
        var steered = false
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isCancelled { break }
            await deliverGuidance(connection, thread: thread)
            await readStalledTurn(connection, thread: thread, turn: turn)
            if !steered, let evidence = turn.looping, await steer(connection, thread: thread, turn: turn, evidence: evidence) {
                // Steered while it runs; a second loop in the same turn is interrupted instead.
                steered = true
                continue
            }
            let overTime = deadline.map { ContinuousClock.now > $0 } ?? false
            if turn.checkHung(limit: configuration.idleTimeout) || turn.looping != nil || overTime { return .stuck(timedOut: overTime) }
        }
        return .cancelled
    }

    /// A turn whose thread stopped without its `turn/completed` (``StalledTurnCheck``): once the grace has passed, its
    /// end is read with `thread/read`, and stands for the lost notification.
    private func readStalledTurn(_ connection: AppServerConnection, thread: String, turn: CodexTurn) async {
        let (check, turnID, usage, completed) = state.withLock { ($0.stalled, $0.turnID, $0.usage, $0.completed) }
        guard let completed, !completed.hasFired, check.isDue(at: .now) else { return }
        let read = try? await connection.request("thread/read", ["threadId": .string(thread), "includeTurns": true])
        switch check.verdict(read: read, thread: thread, turnID: turnID, usage: usage) {
        case .keepWaiting:
            state.withLock { $0.stalled.keepWaiting(at: .now) }
        case .ended(let ending):
            guard !completed.hasFired else { return }  // its notification came meanwhile
            let stopped = check.systemError ? "reported a system error" : "went idle"
            events([
                AgentEvent(
                    kind: .warning,
                    text:
                        "codex's thread \(stopped) and turn \(turnID ?? "?") did not report its end in \(check.grace): read it with thread/read"
                )
            ])
            turn.feed(ending)
            events(ending.map(\.agentEvent))
            completed.fire()
        }
    }

    /// An operator's guidance that came while the turn runs goes into it with `turn/steer`; what codex does not take
    /// (`-32600`: the turn has just ended) goes back to the channel, for the next turn's input.
    private func deliverGuidance(_ connection: AppServerConnection, thread: String) async {
        let texts = context.operatorInput.takeSteers()
        guard !texts.isEmpty else { return }
        guard let turnID = state.withLock({ $0.turnID }) else {
            context.operatorInput.putBack(texts)
            return
        }
        for (index, text) in texts.enumerated() {
            let steered = try? await connection.request(
                "turn/steer",
                [
                    "threadId": .string(thread),
                    "input": .array([.object(["type": "text", "text": .string(SessionPrompts.guided([text], then: ""))])]),
                    "expectedTurnId": .string(turnID),
                ]
            )
            guard steered != nil else {
                context.operatorInput.putBack(Array(texts[index...]))
                return
            }
            events([SessionPrompts.steeredEvent(text, intoRunningTurn: true)])
        }
    }

    private func interrupt(_ connection: AppServerConnection, thread: String) async {
        guard let turnID = state.withLock({ $0.turnID }) else { return }
        _ = try? await connection.request("turn/interrupt", ["threadId": .string(thread), "turnId": .string(turnID)])
    }

    /// A loop in a running turn: with the policy's consent, `turn/steer` it toward another approach without stopping it.
    /// Returns false when the policy refuses or the steer fails (then the turn is interrupted).
    private func steer(_ connection: AppServerConnection, thread: String, turn: CodexTurn, evidence: String) async -> Bool {
        let request = RecoveryRequest(
            detection: .looping,
            evidence: evidence,
            proposal: "steer the running turn toward a different approach"
        )
        let verdict = await context.consultPolicy(request)
        guard verdict.decision == .recover else {
            turn.refuseLoopRecovery(verdict.reason ?? RecoveryVerdict.defaultRefusal)
            return false
        }
        guard let turnID = state.withLock({ $0.turnID }) else { return false }
        let text = "You are repeating yourself: \(evidence). That approach is not working: try a different one."
        let steered = try? await connection.request(
            "turn/steer",
            [
                "threadId": .string(thread), "input": .array([.object(["type": "text", "text": .string(text)])]),
                "expectedTurnId": .string(turnID),
            ]
        )
        guard steered != nil else { return false }
        turn.forgetLoop()
        return true
    }

    /// A running server with the session's thread: started, or resumed after a crash.
    private func ready(threadID: String?, turn: CodexTurn) async throws -> AppServerConnection {
        if let connection = state.withLock({ $0.connection }), !connection.hasEnded {
            if threadID == nil || state.withLock({ $0.threadID }) == nil {
                // A fresh thread was asked for (the context is full, or the thread to resume could not be), or the
                // server has none yet: start (or resume) one on the same server.
                try await startThread(on: connection, resuming: threadID, turn: turn)
            }
            return connection
        }
        let connection = try AppServerConnection(
            arguments: [configuration.executable, "app-server"],
            environment: environment,
            directory: workdir,
            onNotification: { [weak self] method, params in self?.handle(method, params) },
            onRequest: { [weak self] method, params in await self?.answer(method, params) ?? .object([:]) }
        )
        state.withLock { $0.connection = connection }
        _ = try await connection.request(
            "initialize",
            [
                "clientInfo": .object(["name": "drover", "title": "Drover", "version": "0.1.0"]),
                "capabilities": .object([
                    "experimentalApi": false,
                    "optOutNotificationMethods": .array(
                        ([
                            "item/agentMessage/delta", "item/commandExecution/outputDelta", "item/reasoning/summaryTextDelta",
                            "item/reasoning/textDelta",
                        ] + withheld).map { .string($0) }
                    ),
                ]),
            ]
        )
        try connection.notify("initialized")
        try await startThread(on: connection, resuming: threadID, turn: turn)
        return connection
    }

    private func startThread(on connection: AppServerConnection, resuming threadID: String?, turn: CodexTurn) async throws {
        var params: [String: JSONValue] = [
            "model": .string(configuration.model), "cwd": .string(workdir), "approvalPolicy": "on-request",
            "sandbox": .string(permissions?.sandbox ?? configuration.sandbox),
        ]
        if let network = permissions?.network { params["config"] = .object(["sandbox_workspace_write.network_access": .bool(network)]) }
        if let threadID { params["threadId"] = .string(threadID) }
        let result = try await connection.request(threadID == nil ? "thread/start" : "thread/resume", params)
        guard case .object(let object) = result, case .object(let thread)? = object["thread"], let id = thread["id"]?.stringValue else {
            throw DroverError(.codex, "the thread has no id")
        }
        state.withLock { $0.threadID = id }
        turn.feed([.threadStarted(threadID: id)])
        events([CodexExecEvent.threadStarted(threadID: id).agentEvent])
    }

    private func handle(_ method: String, _ params: [String: JSONValue]) {
        if method == "thread/tokenUsage/updated", let usage = AppServerEvents.usage(params) {
            state.withLock { $0.usage = usage }
            return
        }
        if method == "thread/status/changed" {
            threadStatusChanged(params)
            return
        }
        let (turn, usage) = state.withLock { ($0.turn, $0.usage) }
        let parsed = AppServerEvents.events(method: method, params: params, usage: usage).filter {
            if case .threadStarted = $0 { return false }  // already reported when the thread was started
            return true
        }
        if !parsed.isEmpty {
            turn?.feed(parsed)
            events(parsed.map(\.agentEvent))
        }
        if method == "turn/completed" { state.withLock { $0.completed }?.fire() }
    }

    /// What the thread's status says: whether it waits on Drover (not a hang; watchers see it), and whether it stopped
    /// (its turn's end is due: ``StalledTurnCheck``).
    private func threadStatusChanged(_ params: [String: JSONValue]) {
        let (thread, before, turn) = state.withLock { ($0.threadID, $0.status, $0.turn) }
        guard let status = ThreadStatus(notification: params, thread: thread) else { return }
        state.withLock { state in
            state.status = status
            state.stalled.observe(status, at: .now)
        }
        turn?.codexWaits(!status.waits.isEmpty)
        var report: [AgentEvent] = []
        if let waiting = status.waitingEvent(after: before) { report.append(waiting) }
        if status == .systemError && before != .systemError {
            report.append(AgentEvent(kind: .error, text: "codex reports a system error on thread \(thread ?? "?")"))
        }
        if !report.isEmpty { events(report) }
    }

    /// Approval requests, answered by policy (the TODO's risk), or by an operator when the policy does not allow.
    private func answer(_ method: String, _ params: [String: JSONValue]) async -> JSONValue {
        let what = params["command"]?.stringValue ?? params["reason"]?.stringValue ?? method
        let allowed = SessionSupervisor.agentMayDecideAlone(risk: risk)
        switch method {
        case "item/commandExecution/requestApproval", "item/fileChange/requestApproval":
            var accept = allowed
            if allowed {
                events([AgentEvent(kind: .approval, text: "accepted by policy (risk \(risk?.rawValue ?? "low")): \(what)")])
            } else {
                events([
                    AgentEvent(
                        kind: .detected,
                        text: "asks_human: approval outside the policy (risk \(risk?.rawValue ?? "?")): \(what)",
                        detection: .asksHuman
                    )
                ])
                // The turn waits for the operator; waiting is not hanging.
                let turn = state.withLock { $0.turn }
                turn?.waiting(true)
                let answer = await context.ask(Question(kind: .approval, text: "codex asks to run: \(what)"))
                turn?.waiting(false)
                accept = answer.decision == .approve
                events([AgentEvent(kind: .approval, text: "\(accept ? "approved" : "denied") by an operator: \(what)")])
            }
            return .object(["decision": .string(accept ? "accept" : "decline")])
        case "item/tool/requestUserInput":
            guard let request = UserInputRequest(params: params) else {
                return .object(["error": .object(["code": .int(-32602), "message": "drover found no question in the request"])])
            }
            return await answer(request)
        case "item/permissions/requestApproval":
            events([AgentEvent(kind: .approval, text: "declined by policy: more permissions than the TODO grants (\(what))")])
            return .object(["permissions": .object([:]), "scope": "turn"])
        default:
            return .object(["error": .object(["code": .int(-32601), "message": .string("\(method) is not supported by drover")])])
        }
    }

    /// The model's questions to the user (`request_user_input`), each the way the agent's own questions go
    /// (``HumanQuestion``): to an operator through the inbox, verbatim with its options, while the turn waits; or,
    /// when the agent may decide, answered with "decide yourself".
    private func answer(_ request: UserInputRequest) async -> JSONValue {
        var answers: [String: [String]] = [:]
        let turn = state.withLock { $0.turn }
        for item in request.questions {
            let text = UserInputRequest.text(of: item)
            guard let why = HumanQuestion.reason(for: text, risk: risk, askedBefore: false) else {
                events([AgentEvent(kind: .recovery, text: "answer by policy (risk \(risk?.rawValue ?? "low")): decide and go on: \(text)")])
                answers[item.id] = [UserInputRequest.decideYourself]
                continue
            }
            events([AgentEvent(kind: .detected, text: "asks_human: \(text) (to a human: \(why))", detection: .asksHuman)])
            // The turn waits for the operator; waiting is not hanging.
            turn?.waiting(true)
            let answer = await context.ask(Question(kind: .question, text: HumanQuestion.text(text, why: why, failing: [])))
            turn?.waiting(false)
            answers[item.id] = UserInputRequest.answers(answer, to: item)
        }
        return UserInputRequest.response(answers)
    }

    func finish() async {
        let connection = state.withLock { state -> AppServerConnection? in
            defer { state.connection = nil }
            return state.connection
        }
        _ = await connection?.close()
    }
}
