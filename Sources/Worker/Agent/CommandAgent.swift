public import DroverProtocol
import Foundation

/// The agent of the cluster core: runs the TODO's `command` with `/bin/sh -c` in the work directory, in its own
/// process group, streaming its output, within the TODO's time limit; then runs the TODO's checks.
public struct CommandAgent: AgentSession {
    /// Extra environment for commands, on top of the worker's own.
    public var environment: [String: String]
    /// How long a stopped command gets between SIGTERM and SIGKILL.
    public var grace: Duration

    public init(environment: [String: String] = [:], grace: Duration = .seconds(2)) {
        self.environment = environment
        self.grace = grace
    }

    public func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult {
        guard let command = task.command else {
            return AgentResult(outcome: .failed, summary: "this worker runs commands, and the TODO has no 'command'")
        }
        // A command reads no guidance and has no turn to stop after: the worker says so when an operator tries.
        let early = context.operatorInput.close()
        if !early.isEmpty { context.events(early.map { OperatorChannel.notTaken("guidance", $0) }) }
        let env = lease.environment(adding: environment)
        let run = await Self.shell(command, environment: env, directory: workdir, timeout: task.timeoutSeconds, grace: grace) {
            chunk in
            context.events([
                AgentEvent(kind: .output, stream: chunk.stream.rawValue, text: String(decoding: chunk.data.prefix(8192), as: UTF8.self))
            ])
        }
        if Task.isCancelled {
            return AgentResult(outcome: .cancelled, exitCode: run.status, summary: "stopped on request", outputTail: run.tail)
        }
        if run.timedOut {
            return AgentResult(
                outcome: .timedOut,
                exitCode: run.status,
                summary: "timed out after \(task.timeoutSeconds.map { "\($0)" } ?? "?") s",
                outputTail: run.tail
            )
        }
        guard run.status == 0 else {
            return AgentResult(
                outcome: .failed,
                exitCode: run.status,
                summary: "command exited with status \(run.status)",
                outputTail: run.tail
            )
        }
        let checks = await CheckRunner(environment: env, directory: workdir, grace: grace).run(task.checks)
        if Task.isCancelled {
            // Stopped while checking: a check that was stopped did not fail.
            return AgentResult(outcome: .cancelled, exitCode: 0, summary: "stopped on request", outputTail: run.tail)
        }
        if let failed = checks.first(where: { !$0.passed }) {
            return AgentResult(
                outcome: .failed,
                exitCode: 0,
                summary: "check failed: \(failed.check): \(failed.detail)",
                outputTail: run.tail,
                checks: checks
            )
        }
        return AgentResult(outcome: .succeeded, exitCode: 0, summary: "command succeeded", outputTail: run.tail, checks: checks)
    }

    /// Runs `command` with `/bin/sh -c`, stopping it on timeout or when the calling task is cancelled.
    static func shell(
        _ command: String,
        environment: [String: String],
        directory: String,
        timeout: Double?,
        grace: Duration,
        onOutput: @escaping @Sendable (GuardedProcess.Chunk) -> Void = { _ in }
    ) async -> ProcessRun {
        await ProcessRun.run(
            ["/bin/sh", "-c", command],
            environment: environment,
            directory: directory,
            timeout: timeout,
            grace: grace,
            onOutput: onOutput
        )
    }
}
