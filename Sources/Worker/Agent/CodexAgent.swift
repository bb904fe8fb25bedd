public import DroverProtocol
import Foundation

/// Runs a TODO's prompt in codex in the TODO's work directory, watches every turn, and keeps the session going until
/// the TODO's checks pass or its budget is spent. Turns run in `codex app-server` (two-way JSON-RPC) or, as the
/// fallback mode, in `codex exec --json` with `exec resume` (``CodexConfiguration/mode``).
///
/// What to do after each turn is ``SessionSupervisor``'s decision (its table lists the cases); this type is the loop
/// that carries its actions out: run a turn, checkpoint and run the checks, ask the coordinator's policy, ask an
/// operator, back off. Every detection and recovery is an agent event with its evidence.
///
/// A task's context document opens the first prompt of each thread. A task that wants an answer (``TaskSpec/output``)
/// gives codex its schema on every turn, and the supervisor reads the answer, sending it back while it cannot be used.
///

/// Each session gets a `CODEX_HOME` of its own (``CodexConfiguration/makeSessionHome(for:)``), removed when it ends, so
/// sessions on one host never mix. stdin is /dev/null, so codex never waits for input.
public struct CodexAgent: AgentSession {
    public var configuration: CodexConfiguration
    public var grace: Duration

    public init(configuration: CodexConfiguration, grace: Duration = .seconds(5)) {
        self.configuration = configuration
        self.grace = grace
    }

    /// Turns per lease when the TODO's budget does not say.
    public static let defaultTurns = SessionSupervisor.defaultTurns

    public func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult {
        guard let prompt = task.prompt else {
            return AgentResult(outcome: .failed, summary: "this worker runs codex, and the TODO has no 'prompt'")
        }
        // A task may name its own model and provider (an advisor's): its session's config.toml says so.
        var configuration = self.configuration
        if let model = task.model { configuration.model = model }
        if let url = task.modelBaseURL { configuration.baseURL = url }
        let home: String
        do {
            home = try configuration.makeSessionHome(for: lease.leaseId)
        } catch {
            return AgentResult(
                outcome: .failed,
                summary: "cannot make a CODEX_HOME in \(configuration.homeRoot): \(error.localizedDescription) (see --codex-home)"
            )
        }
        defer { configuration.removeSessionHome(home) }
        let environment = lease.environment(adding: ["CODEX_HOME": home])
        let schemaFile: String?
        do {
            schemaFile = try configuration.mode == .exec ? Self.writeSchema(of: task.output, in: home) : nil
        } catch {
            return AgentResult(outcome: .failed, summary: "cannot write the output schema in \(home): \(error.localizedDescription)")
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
                    events: context.events,
                    outputSchemaFile: schemaFile
                )
            case .appServer:
                AppServerTurnDriver(
                    context: context,
                    configuration: configuration,
                    environment: environment,
                    workdir: workdir,
                    permissions: task.permissions,
                    risk: task.risk,
                    outputSchema: task.output?.schema
                )
            }
        let checks = CheckRunner(environment: environment, directory: workdir, grace: grace)
        var supervisor = SessionSupervisor(task: task, prompt: prompt, configuration: configuration)
        if let thread = task.resumeThread, await restore(thread, into: home, context: context) {
            supervisor.resume(thread: thread, prompt: SessionPrompts.resumed(workdir: workdir, handover: task.handover))
        }
        let (ended, thread) = await supervise(
            supervisor,
            home: home,
            driver: driver,
            checks: { await checks.run(task.checks) },
            timeout: task.timeoutSeconds,
            context: context
        )
        await driver.finish()
        var result = ended
        result.model = configuration.model
        if result.outcome == .paused || result.outcome == .parked, let thread {
            result.threadID = await keep(thread, of: home, outcome: result.outcome.rawValue, context: context)
        }
        return result
    }

    /// Puts the thread of the TODO's session before into this session's `CODEX_HOME`; false (said in an event) when
    /// it cannot: the session starts a new thread, told what happened before.
    private func restore(_ thread: String, into home: String, context: AgentContext) async -> Bool {
        guard let threads = context.threads else {
            context.events([
                AgentEvent(kind: .thread, text: "could not resume codex thread \(thread): no repository to keep it in; a new thread")
            ])
            return false
        }
        do {
            try await threads.restore(thread, home)
            context.events([AgentEvent(kind: .thread, text: "resuming codex thread \(thread), stored beside the checkpoint")])
            return true
        } catch {
            context.events([
                AgentEvent(
                    kind: .thread,
                    text: "could not resume codex thread \(thread) (\(error)): a new thread instead, told what happened before"
                )
            ])
            return false
        }
    }

    /// Stores the session's thread for the TODO's next session, at a checkpoint or as the session ends `outcome`;
    /// returns its id, nil (said in an event) when it could not be stored. The event names the thread: the
    /// coordinator keeps it, so that even a lost worker's successor goes on on it.
    private func keep(_ thread: String, of home: String, outcome: String, context: AgentContext) async -> String? {
        guard let threads = context.threads else { return nil }
        do {
            let ref = try await threads.save(thread, home, outcome)
            context.events([AgentEvent(kind: .thread, text: "codex thread \(thread) stored in \(ref) for the next session", thread: thread)]
            )
            return thread
        } catch {
            context.events([
                AgentEvent(kind: .thread, text: "could not store codex thread \(thread) (\(error)): the next session starts a new one")
            ])
            return nil
        }
    }

    /// Writes the JSON Schema of the answer `output` wants into `home` (the lease's own CODEX_HOME, which no other
    /// session sees), for `exec --output-schema`; returns its path, nil when no answer is wanted.
    static func writeSchema(of output: OutputSpec?, in home: String) throws -> String? {
        guard let output else { return nil }
        let path = "\(home)/output-schema.json"
        try JSONEncoder().encode(output.schema).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Carries out the supervisor's actions until it says the session is over.
    private func supervise(
        _ supervisor: SessionSupervisor,
        home: String,
        driver: any CodexTurnDriver,
        checks: () async -> [CheckResult],
        timeout: Double?,
        context: AgentContext
    ) async -> (AgentResult, thread: String?) {
        var supervisor = supervisor
        let started = ContinuousClock.now
        var action = supervisor.nextTurn(elapsed: .zero)
        while true {
            // An operator's guidance that came meanwhile (and was not steered into a running turn) opens the next
            // turn; a session about to succeed hears it first.
            let guidance = context.operatorInput.takeSteers()
            if !guidance.isEmpty {
                supervisor.steered(guidance)
                context.events(guidance.map { SessionPrompts.steeredEvent($0, intoRunningTurn: false) })
            }
            if let heard = supervisor.heardBeforeFinishing(action) { action = heard }
            switch action {
            case .runTurn(_, _) where context.operatorInput.pauseRequested:
                // Paused: the turn before has ended; the lease run checkpoints the work, and the TODO waits.
                context.events([AgentEvent(kind: .paused, text: "stopped before turn \(supervisor.state.turns) on an operator's request")])
                return (supervisor.paused(), supervisor.state.threadID)
            case .runTurn(let prompt, let threadID):
                let prompt = supervisor.guided(prompt)
                let turn = CodexTurn(loopThreshold: configuration.loopThreshold)
                let run = await driver.runTurn(prompt: prompt, threadID: threadID, turn: turn, timeout: timeout)
                action = supervisor.turnEnded(TurnReport(turn: turn, run: run, cancelled: Task.isCancelled))
                // The session's tokens so far, once a turn: the coordinator's cost is live, and its caps act on it.
                if supervisor.state.usage.total > 0 {
                    context.events([AgentEvent(kind: .usage, usage: supervisor.state.usage, model: configuration.model)])
                }
            case .runChecks:
                await context.checkpoint()
                // The thread too, as it is after this turn: a session after this one goes on on it.
                if let thread = supervisor.state.threadID, context.threads != nil {
                    _ = await keep(thread, of: home, outcome: "checkpoint", context: context)
                }
                let results = await checks()
                action = supervisor.checksRan(results, cancelled: Task.isCancelled)
            case .recover(let request):
                action = supervisor.policyAnswered(await context.consultPolicy(request))
            case .askHuman(let question, let report):
                context.events(report)
                action = supervisor.humanAnswered(await context.ask(question))
            case .continue(let delay, let report):
                if !report.isEmpty { context.events(report) }
                if let delay { try? await Task.sleep(for: delay) }
                action = supervisor.nextTurn(elapsed: .now - started)
            case .finish(let result):
                return (result, supervisor.state.threadID)
            case .park(let result, let report):
                context.events(report)
                return (result, supervisor.state.threadID)
            }
        }
    }
}
