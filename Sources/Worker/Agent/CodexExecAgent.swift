import Foundation
public import Shared
import Synchronization

/// Runs a TODO's prompt as one `codex exec --json` turn in the TODO's work directory, streams codex's events as
/// agent events, and decides the outcome from the turn's terminal line and the TODO's checks.
///
/// Each lease gets a `CODEX_HOME` of its own (config, sessions, state), so sessions on one host never mix.
/// stdin is /dev/null, so codex never waits for input (reference §1.3).
public struct CodexExecAgent: AgentSession {
    public var configuration: CodexConfiguration
    public var grace: Duration

    public init(configuration: CodexConfiguration, grace: Duration = .seconds(5)) {
        self.configuration = configuration
        self.grace = grace
    }

    public func run(
        task: TaskSpec,
        lease: LeaseRef,
        workdir: String,
        events: @escaping @Sendable ([AgentEvent]) -> Void
    ) async -> AgentResult {
        guard let prompt = task.prompt else {
            return AgentResult(outcome: .failed, summary: "this worker runs codex, and the TODO has no 'prompt'")
        }
        let home =
            "\(configuration.homeRoot)/\(lease.leaseId.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.reduce("") { $0 + String($1) })"
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try configuration.configTOML.write(toFile: "\(home)/config.toml", atomically: true, encoding: .utf8)
        } catch {
            return AgentResult(outcome: .failed, summary: "cannot prepare CODEX_HOME at \(home): \(error.localizedDescription)")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["CODEX_HOME"] = home
        environment["DROVER_PLAN"] = lease.plan
        environment["DROVER_TODO"] = lease.todo
        environment["DROVER_EPOCH"] = String(lease.epoch)
        let maxTurns = max(1, task.budget?.turns ?? Self.defaultTurns)
        let started = ContinuousClock.now
        var threadID: String?
        var nextPrompt = prompt
        var tail = ""
        for turnNumber in 1...maxTurns {
            let turn = TurnState()
            var arguments = [
                configuration.executable, "exec", "--json", "--skip-git-repo-check", "-s", configuration.sandbox, "-C", workdir,
            ]
            arguments += ["-m", configuration.model]
            // Options go before `resume`: not all of them are accepted after it (reference §1.2).
            if let threadID { arguments += ["resume", threadID] }
            arguments.append(nextPrompt)
            let run = await ProcessRun.run(
                arguments,
                environment: environment,
                directory: workdir,
                timeout: task.timeoutSeconds,
                grace: grace
            ) {
                chunk in
                guard chunk.stream == .stdout else { return }
                let parsed = turn.take(chunk.data)
                if !parsed.isEmpty { events(parsed.map(\.agentEvent)) }
            }
            tail = run.tail
            threadID = turn.threadID ?? threadID
            if Task.isCancelled {
                return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: tail)
            }
            if run.timedOut {
                return AgentResult(
                    outcome: .timedOut,
                    exitCode: run.status,
                    summary: "codex turn \(turnNumber) timed out",
                    outputTail: tail
                )
            }
            switch turn.ending {
            case .turnFailed(let message)?:
                return AgentResult(outcome: .failed, exitCode: run.status, summary: "codex turn failed: \(message)", outputTail: tail)
            case .turnCompleted?:
                break
            default:
                return AgentResult(
                    outcome: .failed,
                    exitCode: run.status,
                    summary: "codex exited with status \(run.status) without ending its turn",
                    outputTail: tail
                )
            }
            // Codex saying it is done is not enough: the TODO's checks decide (design §5).
            let checks = await CheckRunner(environment: environment, directory: workdir, grace: grace).run(task.checks)
            if Task.isCancelled {
                return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: tail)
            }
            let failed = checks.filter { !$0.passed }
            if failed.isEmpty {
                let said = turn.lastMessage.map { ": \($0.prefix(200))" } ?? ""
                return AgentResult(
                    outcome: .succeeded,
                    exitCode: run.status,
                    summary: "codex finished in \(turnNumber) turn\(turnNumber == 1 ? "" : "s")\(said)",
                    outputTail: tail,
                    checks: checks
                )
            }
            let evidence = failed.map { "\($0.check): \($0.detail)" }.joined(separator: "\n")
            events([AgentEvent(kind: "detected", text: "stopped_early: the turn ended with checks failing\n\(evidence)")])
            let overWall = task.budget?.wallSeconds.map { Double((ContinuousClock.now - started).components.seconds) >= $0 } ?? false
            guard turnNumber < maxTurns, threadID != nil, !overWall else {
                let why = overWall ? "the wall-time budget is spent" : "\(maxTurns) turns"
                return AgentResult(
                    outcome: .failed,
                    exitCode: run.status,
                    summary: "check failed after \(why): \(failed[0].check): \(failed[0].detail)",
                    outputTail: tail,
                    checks: checks
                )
            }
            events([
                AgentEvent(
                    kind: "recovery",
                    text: "repair: continuing thread \(threadID ?? "") with the failing checks (turn \(turnNumber + 1) of \(maxTurns))"
                )
            ])
            nextPrompt = Self.repairPrompt(failed)
        }
        return AgentResult(outcome: .failed, summary: "no turn ran", outputTail: tail)
    }

    /// Turns per lease when the TODO's budget does not say.
    public static let defaultTurns = 3

    /// What the model is told when its turn ended with the work not done.
    static func repairPrompt(_ failed: [CheckResult]) -> String {
        var text = "The task is not finished yet: these acceptance checks still fail.\n"
        for check in failed { text += "- \(check.check): \(check.detail)\n" }
        text += "Continue the task until they pass, then stop."
        return text
    }

    /// What the turn has said so far; fed from the process's reader thread.
    final class TurnState: Sendable {
        private struct State {
            var splitter = LineSplitter()
            var ending: CodexExecEvent?
            var lastMessage: String?
            var threadID: String?
        }

        private let state = Mutex(State())

        func take(_ data: Data) -> [CodexExecEvent] {
            state.withLock { state in
                let parsed = state.splitter.lines(adding: data).compactMap(CodexExecEvent.init(line:))
                for event in parsed {
                    switch event {
                    case .turnCompleted, .turnFailed: state.ending = event
                    case .threadStarted(let id): state.threadID = id
                    case .item(_, "agent_message", let fields): state.lastMessage = fields["text"]?.stringValue
                    default: break
                    }
                }
                return parsed
            }
        }

        var ending: CodexExecEvent? { state.withLock { $0.ending } }
        var lastMessage: String? { state.withLock { $0.lastMessage } }
        var threadID: String? { state.withLock { $0.threadID } }
    }
}
