import DroverProtocol
import Foundation

/// How a codex session runs its turns: in `codex exec` processes or in one `codex app-server`.
protocol CodexTurnDriver: Sendable {
    /// Runs one turn with `prompt`, on `threadID` when there is one, feeding `turn`, until it ends, hangs or loops
    /// (then it is stopped). Returns how the process side ended.
    func runTurn(prompt: String, threadID: String?, turn: CodexTurn, timeout: Double?) async -> ProcessRun
    /// Ends whatever the driver still runs.
    func finish() async
}

/// Each turn is one `codex exec --json` process (`exec resume <thread>` after the first).
struct ExecTurnDriver: CodexTurnDriver {
    var configuration: CodexConfiguration
    var environment: [String: String]
    var workdir: String
    var permissions: Permissions?
    var grace: Duration
    var events: @Sendable ([AgentEvent]) -> Void
    /// A file holding the JSON Schema the final message must follow (``TaskSpec/output``), given on every turn.
    var outputSchemaFile: String?

    func runTurn(prompt: String, threadID: String?, turn: CodexTurn, timeout: Double?) async -> ProcessRun {
        var arguments = [configuration.executable, "exec", "--json", "--skip-git-repo-check"]
        arguments += ["-s", permissions?.sandbox ?? configuration.sandbox, "-C", workdir, "-m", configuration.model]
        if let network = permissions?.network { arguments += ["-c", "sandbox_workspace_write.network_access=\(network)"] }
        for path in permissions?.writable ?? [] { arguments += ["--add-dir", path.hasPrefix("/") ? path : "\(workdir)/\(path)"] }
        // Every turn: the schema binds one turn's final message, resumed ones included.
        if let outputSchemaFile { arguments += ["--output-schema", outputSchemaFile] }
        // Options go before `resume`: not all of them are accepted after it.
        if let threadID { arguments += ["resume", threadID] }
        arguments.append(prompt)
        let command = arguments
        let idle = configuration.idleTimeout
        let (environment, workdir, grace, events) = (self.environment, self.workdir, self.grace, self.events)
        return await withTaskGroup(of: ProcessRun?.self) { group in
            group.addTask {
                await ProcessRun.run(command, environment: environment, directory: workdir, timeout: timeout, grace: grace) { chunk in
                    guard chunk.stream == .stdout else { return }
                    let parsed = turn.take(chunk.data)
                    if !parsed.isEmpty { events(parsed.map(\.agentEvent)) }
                }
            }
            group.addTask {
                // The watchdog: ends the turn (the process) when it hangs or loops.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    if turn.checkHung(limit: idle) || turn.looping != nil { return nil }
                }
                return nil
            }
            var result: ProcessRun?
            for await value in group {
                if let value {
                    result = value
                    group.cancelAll()
                } else if turn.hung || turn.looping != nil {
                    group.cancelAll()
                }
            }
            let run = result ?? ProcessRun(status: -1, timedOut: false, tail: "")
            if let threadID, turn.ending == nil, let held = HeldThread.failure(resuming: threadID, output: run.tail) {
                // Resuming again cannot help while the other process holds the thread: the turn failed, saying why.
                turn.feed([.turnFailed(message: held)])
                events([CodexExecEvent.turnFailed(message: held).agentEvent])
            }
            return run
        }
    }

    func finish() async {}
}
