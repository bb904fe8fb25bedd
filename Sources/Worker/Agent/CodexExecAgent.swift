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
        let arguments = [
            configuration.executable, "exec", "--json", "--skip-git-repo-check", "-s", configuration.sandbox, "-C", workdir, "-m",
            configuration.model, prompt,
        ]
        let turn = TurnState()
        let run = await ProcessRun.run(arguments, environment: environment, directory: workdir, timeout: task.timeoutSeconds, grace: grace)
        {
            chunk in
            guard chunk.stream == .stdout else { return }
            let parsed = turn.take(chunk.data)
            if !parsed.isEmpty { events(parsed.map(\.agentEvent)) }
        }
        if Task.isCancelled {
            return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: run.tail)
        }
        if run.timedOut {
            return AgentResult(outcome: .timedOut, exitCode: run.status, summary: "codex timed out", outputTail: run.tail)
        }
        let ending = turn.ending
        switch ending {
        case .turnFailed(let message)?:
            return AgentResult(outcome: .failed, exitCode: run.status, summary: "codex turn failed: \(message)", outputTail: run.tail)
        case .turnCompleted?:
            let checks = await CheckRunner(environment: environment, directory: workdir, grace: grace).run(task.checks)
            if Task.isCancelled {
                return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: run.tail)
            }
            let said = turn.lastMessage.map { ": \($0.prefix(200))" } ?? ""
            if let failed = checks.first(where: { !$0.passed }) {
                return AgentResult(
                    outcome: .failed,
                    exitCode: run.status,
                    summary: "check failed: \(failed.check): \(failed.detail)",
                    outputTail: run.tail,
                    checks: checks
                )
            }
            return AgentResult(
                outcome: .succeeded,
                exitCode: run.status,
                summary: "codex finished the turn\(said)",
                outputTail: run.tail,
                checks: checks
            )
        default:
            return AgentResult(
                outcome: .failed,
                exitCode: run.status,
                summary: "codex exited with status \(run.status) without ending its turn",
                outputTail: run.tail
            )
        }
    }

    /// What the turn has said so far; fed from the process's reader thread.
    final class TurnState: Sendable {
        private struct State {
            var splitter = LineSplitter()
            var ending: CodexExecEvent?
            var lastMessage: String?
        }

        private let state = Mutex(State())

        func take(_ data: Data) -> [CodexExecEvent] {
            state.withLock { state in
                let parsed = state.splitter.lines(adding: data).compactMap(CodexExecEvent.init(line:))
                for event in parsed {
                    switch event {
                    case .turnCompleted, .turnFailed: state.ending = event
                    case .item(_, "agent_message", let fields): state.lastMessage = fields["text"]?.stringValue
                    default: break
                    }
                }
                return parsed
            }
        }

        var ending: CodexExecEvent? { state.withLock { $0.ending } }
        var lastMessage: String? { state.withLock { $0.lastMessage } }
    }
}
