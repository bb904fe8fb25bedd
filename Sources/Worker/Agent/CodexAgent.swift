public import DroverProtocol
import Foundation

/// Runs a TODO's prompt in codex in the TODO's work directory, watches every turn, and keeps the session going until
/// the TODO's checks pass or its budget is spent. Turns run in `codex app-server` (two-way JSON-RPC) or, as the
/// fallback mode, in `codex exec --json` with `exec resume` (``CodexConfiguration/mode``).
///
/// After each turn it looks at how the turn went (design §6) and acts, emitting a `detected` and a `recovery`
/// agent event with the evidence:
///
/// | seen | done |
/// | --- | --- |
/// | the turn completed, checks fail (stopped early) | continue the same thread with the failing checks |
/// | the final message is a question | answer by policy (low and medium risk: decide yourself), else escalate |
/// | no event for the idle limit while no command runs (hung) | stop codex, resume the thread with a nudge |
/// | the same command with the same result again and again (looping) | stop codex, steer to another approach |
/// | codex exited without ending its turn (crashed) | resume the thread |
/// | a transient model error | back off (as long as the server asked, else exponentially), retry the turn |
/// | the context window is full | a new thread, seeded with what the last one said |
/// | usage limit, a fatal error, or the budget spent | stop and report why (escalate) |
///
/// Each lease gets a `CODEX_HOME` of its own, so sessions on one host never mix. stdin is /dev/null, so codex never
/// waits for input (reference §1.3).
public struct CodexAgent: AgentSession {
    public var configuration: CodexConfiguration
    public var grace: Duration

    public init(configuration: CodexConfiguration, grace: Duration = .seconds(5)) {
        self.configuration = configuration
        self.grace = grace
    }

    /// Turns per lease when the TODO's budget does not say.
    public static let defaultTurns = 4

    public func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult {
        guard let prompt = task.prompt else {
            return AgentResult(outcome: .failed, summary: "this worker runs codex, and the TODO has no 'prompt'")
        }
        let home = "\(configuration.homeRoot)/\(GitWorkspace.safe(lease.leaseId))"
        do {
            try configuration.prepareHome(at: home)
        } catch {
            return AgentResult(outcome: .failed, summary: "cannot prepare CODEX_HOME at \(home): \(error.localizedDescription)")
        }
        let environment = lease.environment(adding: ["CODEX_HOME": home])

        let events = context.events
        let ask = context.ask
        let checkpoint = context.checkpoint
        let maxTurns = max(1, task.budget?.turns ?? Self.defaultTurns)
        let started = ContinuousClock.now
        var session = Session(permissions: task.permissions, threadID: nil, prompt: prompt, turns: 0, transientRetries: 0, tail: "")
        /// Reports a detection and asks the coordinator's policy whether to recover by `action`; returns why not,
        /// when the policy refuses (its limit for this kind of trouble is reached).
        func detected(_ kind: Detection, _ evidence: String, then action: String) async -> String? {
            events([AgentEvent(kind: .detected, text: "\(kind): \(evidence)", detection: kind)])
            let verdict = await context.recover(RecoveryRequest(detection: kind, evidence: evidence, proposal: action))
            guard verdict.decision == .recover else {
                let why = verdict.reason ?? "the coordinator's policy says stop"
                events([AgentEvent(kind: .recovery, text: "escalate: \(why)")])
                return "\(kind): \(why)"
            }
            events([AgentEvent(kind: .recovery, text: action)])
            return nil
        }
        func fail(_ summary: String, _ status: Int32? = nil, checks: [CheckResult] = []) -> AgentResult {
            AgentResult(outcome: .failed, exitCode: status, summary: summary, outputTail: session.tail, checks: checks)
        }
        /// Only a human can take it further from here.
        func escalate(_ summary: String, _ status: Int32? = nil, checks: [CheckResult] = []) -> AgentResult {
            AgentResult(outcome: .escalated, exitCode: status, summary: summary, outputTail: session.tail, checks: checks)
        }

        let driver: any CodexTurnDriver =
            switch configuration.mode {
            case .exec:
                ExecTurnDriver(
                    configuration: configuration,
                    environment: environment,
                    workdir: workdir,
                    permissions: task.permissions,
                    grace: grace,
                    events: events
                )
            case .appServer:
                AppServerTurnDriver(
                    ask: ask,
                    recover: context.recover,
                    configuration: configuration,
                    environment: environment,
                    workdir: workdir,
                    permissions: task.permissions,
                    risk: task.risk,
                    events: events
                )
            }
        var result = await supervise(driver: driver)
        await driver.finish()
        result.tokens = session.tokens
        return result

        func supervise(driver: any CodexTurnDriver) async -> AgentResult {
            while true {
                if let wall = task.budget?.wallSeconds, Double((ContinuousClock.now - started).milliseconds) / 1000 >= wall {
                    return escalate("over budget: \(Int(wall)) s of wall time spent")
                }
                guard session.turns < maxTurns else {
                    return escalate("over budget: \(maxTurns) turns spent; \(session.lastProblem ?? "the TODO is not done")")
                }
                session.turns += 1
                let turn = CodexTurn(loopThreshold: configuration.loopThreshold)
                let run = await driver.runTurn(
                    prompt: session.prompt,
                    threadID: session.threadID,
                    turn: turn,
                    timeout: task.timeoutSeconds
                )
                session.tail = run.tail
                session.tokens += turn.tokens
                session.threadID = turn.threadID ?? session.threadID
                if Task.isCancelled {
                    return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: session.tail)
                }
                if run.timedOut {
                    return AgentResult(
                        outcome: .timedOut,
                        exitCode: run.status,
                        summary: "codex turn \(session.turns) timed out",
                        outputTail: session.tail
                    )
                }
                if let budget = task.budget?.tokens, turn.tokens > budget {
                    return escalate("over budget: \(turn.tokens) tokens used, the budget is \(budget)", run.status)
                }
                if turn.hung {
                    session.prompt = "You stopped responding. Continue the task from where you were."
                    session.lastProblem = "the session hung"
                    if let refused = await detected(
                        .hung,
                        "no agent event for \(configuration.idleTimeout) while no command ran",
                        then: session.threadID == nil
                            ? "stop codex and start the turn again" : "stop codex and resume the thread with a nudge"
                    ) {
                        return escalate(refused, run.status)
                    }
                    if session.threadID == nil { session.prompt = prompt }
                    continue
                }
                if let evidence = turn.looping {
                    session.prompt = "You are repeating yourself: \(evidence). That approach is not working: try a different one."
                    session.lastProblem = "looping: \(evidence)"
                    if let refused = await detected(.looping, evidence, then: "stop codex and steer it toward a different approach") {
                        return escalate(refused, run.status)
                    }
                    continue
                }
                switch turn.ending {
                case .turnFailed(let message)?:
                    let failure = TurnFailure(message: message)
                    switch failure.kind {
                    case .transient where session.transientRetries < configuration.transientRetries:
                        session.transientRetries += 1
                        session.turns -= 1  // a turn the model never had does not count against the budget
                        let delay =
                            failure.retryAfter ?? .milliseconds(Int64(configuration.backoff.milliseconds) << (session.transientRetries - 1))
                        if let refused = await detected(
                            .transientError,
                            message,
                            then: "back off \(delay) and retry the turn (\(session.transientRetries)/\(configuration.transientRetries))"
                        ) {
                            return escalate(refused, run.status)
                        }
                        try? await Task.sleep(for: delay)
                        continue
                    case .contextFull:
                        let summary = turn.lastMessage ?? session.lastMessage ?? "(no summary)"
                        session.threadID = nil
                        session.prompt =
                            "\(prompt)\n\nAn earlier session ran out of context. What it last said:\n\(summary)\n"
                            + "The files already hold its work: continue from their current state."
                        if let refused = await detected(.contextFull, message, then: "start a new thread seeded with a summary") {
                            return escalate(refused, run.status)
                        }
                        continue
                    case .usageLimit:
                        return escalate("usage limit reached: \(message)", run.status)
                    default:
                        return fail("codex turn failed: \(message)", run.status)
                    }
                case .turnCompleted?:
                    break
                default:
                    session.lastProblem = "codex crashed"
                    if let refused = await detected(
                        .crashed,
                        "codex exited with status \(run.status) without ending its turn",
                        then: session.threadID == nil ? "start the turn again" : "resume the thread"
                    ) {
                        return escalate(refused, run.status)
                    }
                    if session.threadID == nil { session.prompt = prompt } else { session.prompt = "Continue the task." }
                    continue
                }
                session.lastMessage = turn.lastMessage ?? session.lastMessage
                session.transientRetries = 0
                await checkpoint()

                // Codex saying it is done is not enough: the TODO's checks decide (design §5).
                let checks = await CheckRunner(environment: environment, directory: workdir, grace: grace).run(task.checks)
                if Task.isCancelled {
                    return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: session.tail)
                }
                let failed = checks.filter { !$0.passed }
                if failed.isEmpty {
                    let said = turn.lastMessage.map { ": \($0.prefix(200))" } ?? ""
                    let turns = "\(session.turns) turn\(session.turns == 1 ? "" : "s")"
                    return AgentResult(
                        outcome: .succeeded,
                        exitCode: run.status,
                        summary: "codex finished in \(turns)\(said)",
                        outputTail: session.tail,
                        checks: checks
                    )
                }
                let evidence = failed.map { "\($0.check): \($0.detail)" }.joined(separator: "\n")
                session.lastProblem = "check failed: \(failed[0].check): \(failed[0].detail)"
                if let question = turn.lastMessage, Self.isQuestion(question) {
                    guard task.risk.map({ $0 == .low || $0 == .medium }) ?? true else {
                        // Outside the policy: an operator answers, through the inbox; the answer goes on the thread.
                        events([AgentEvent(kind: .detected, text: "asks_human: \(question)", detection: .asksHuman)])
                        let answer = await ask(Question(kind: .question, text: "codex asks: \(question.prefix(2000))"))
                        guard answer.decision != .deny, let text = answer.text ?? (answer.decision == .approve ? "Yes, go ahead." : nil)
                        else {
                            return escalate(
                                "needs input (risk \(task.risk?.rawValue ?? "?")): codex asked, and the answer was no: \(question.prefix(300))",
                                run.status,
                                checks: checks
                            )
                        }
                        session.prompt = "The operator answers: \(text)\nGo on with the task.\n" + Self.failing(failed)
                        events([AgentEvent(kind: .recovery, text: "continue the thread with the operator's answer")])
                        continue
                    }
                    session.prompt =
                        "Use your best judgment and decide yourself; do not wait for an answer. Then finish the task.\n"
                        + Self.failing(failed)
                    if let refused = await detected(
                        .asksHuman,
                        question,
                        then: "answer by policy (risk \(task.risk?.rawValue ?? "low")): decide and go on"
                    ) {
                        return escalate(refused, run.status)
                    }
                } else {
                    session.prompt = Self.failing(failed)
                    if let refused = await detected(
                        .stoppedEarly,
                        "the turn ended with checks failing\n\(evidence)",
                        then: "repair: continue the same thread with the failing checks"
                    ) {
                        return escalate(refused, run.status)
                    }
                }
                guard session.threadID != nil else {
                    return fail(session.lastProblem ?? "no thread to continue", run.status, checks: checks)
                }
            }
        }
    }

    /// Where a lease's session stands between turns.
    private struct Session {
        var permissions: Permissions?
        var threadID: String?
        var prompt: String
        /// Tokens of every turn so far.
        var tokens: Int64 = 0
        var turns: Int
        var transientRetries: Int
        var tail: String
        var lastMessage: String?
        var lastProblem: String?
    }

    /// The prompt that sends the model back to work on what the checks found.
    static func failing(_ failed: [CheckResult]) -> String {
        var text = "The task is not finished yet: these acceptance checks still fail.\n"
        for check in failed { text += "- \(check.check): \(check.detail)\n" }
        text += "Continue the task until they pass, then stop."
        return text
    }

    /// Whether a final message asks the user something instead of finishing.
    static func isQuestion(_ message: String) -> Bool {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let last = trimmed.split(separator: "\n").last else { return false }
        return last.hasSuffix("?")
    }
}
