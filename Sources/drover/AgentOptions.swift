import ArgumentParser
import Foundation
import Logging
import Worker

/// Which agent a worker's slots run, and how codex is reached.
struct AgentOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case command, codex
    }

    @Option(
        help:
            "The agent: command (runs each TODO's shell command) or codex (runs each TODO's prompt in codex; TODOs with only a command still run as commands)."
    )
    var agent: Kind = .command
    @OptionGroup var codex: CodexOptions
    @Option(help: "How codex runs: app-server (one process per lease, two-way) or exec (one process per turn, the fallback).")
    var codexMode: CodexConfiguration.Mode = .appServer
    @Option(help: "Directory for the sessions' CODEX_HOME folders (one per session, removed when it ends).") var codexHome: String?
    @Option(help: "codex's sandbox: read-only, workspace-write or danger-full-access.") var sandbox = "workspace-write"
    @Option(help: "Seconds without an agent event, while no command runs, before a codex turn counts as hung.")
    var idleTimeout: Double = 180
    @Option(help: "How many times the same command with the same result makes a loop.") var loopThreshold = 3
    @Option(
        help:
            "Seconds between checkpoints taken during a turn, after the agent changed files or ran a command (0: only at the end of each turn)."
    )
    var checkpointInterval: Double = 30

    /// The interval of checkpoints during a turn; nil when they are off.
    var checkpointsDuringTurns: Duration? {
        checkpointInterval > 0 ? .milliseconds(Int64(checkpointInterval * 1000)) : nil
    }

    func check() throws {
        guard checkpointInterval >= 0, checkpointInterval.isFinite else {
            throw ValidationError("--checkpoint-interval must be 0 (off) or a positive number of seconds, not \(checkpointInterval)")
        }
        guard agent == .codex else { return }
        guard ["read-only", "workspace-write", "danger-full-access"].contains(sandbox) else {
            throw ValidationError("--sandbox must be read-only, workspace-write or danger-full-access, not \(sandbox)")
        }
        guard idleTimeout > 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout must be a positive number of seconds") }
        guard loopThreshold >= 2 else { throw ValidationError("--loop-threshold must be 2 or more") }
        _ = try codex.configuration()
    }

    /// Logs a warning, and goes on, when the codex the sessions will run is not a release Drover supports
    /// (`CodexVersion.supported`; `drover doctor` says the same).
    func warnAboutCodexVersion(logger: Logger) async {
        guard agent == .codex, let executable = try? codex.configuration().executable else { return }
        let (output, version) = await CodexVersion.of(executable: executable)
        if let version, version.isSupported { return }
        let found = version.map { "\($0)" } ?? "of no release Drover can read (`--version` says \"\(output)\")"
        logger.warning(
            "codex at \(executable) is \(found); Drover supports \(CodexVersion.supportedDescription): \(CodexVersion.installCommand)"
        )
    }

    func session() throws -> any AgentSession {
        switch agent {
        case .command:
            return CommandAgent()
        case .codex:
            var configuration = try codex.configuration()
            configuration.mode = codexMode
            configuration.sandbox = sandbox
            if let codexHome { configuration.homeRoot = codexHome }
            configuration.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
            configuration.loopThreshold = loopThreshold
            return PromptOrCommandAgent(prompts: CodexAgent(configuration: configuration))
        }
    }
}

/// Which codex, and which model and provider it talks to: for worker sessions and the `review --ai` reviewer.
struct CodexOptions: ParsableArguments {
    @Option(
        name: .customLong("codex"),
        help: "The codex executable (default: DROVER_CODEX, PATH, then the openai-codex-cli-bin Python package)."
    )
    var executable: String?
    @Option(help: "The model codex uses.") var model = "gpt-5.5"
    @Option(help: "A Responses API base URL for codex (a custom provider), e.g. http://127.0.0.1:8080/v1.") var modelBaseUrl: String?
    @Option(help: "The environment variable holding the custom provider's API key (its value is never printed).")
    var modelKeyEnv: String?

    /// The configuration these options describe; throws when codex is not found or a value is bad.
    func configuration() throws -> CodexConfiguration {
        if let modelBaseUrl, URL(string: modelBaseUrl)?.scheme?.hasPrefix("http") != true {
            throw ValidationError("--model-base-url \(modelBaseUrl) is not an http(s) URL")
        }
        return CodexConfiguration(executable: try path(), model: model, baseURL: modelBaseUrl, apiKeyVariable: modelKeyEnv)
    }

    private func path() throws -> String {
        if let executable {
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw ValidationError("--codex \(executable) is not an executable file")
            }
            return executable
        }
        guard let found = CodexConfiguration.findExecutable() else {
            throw ValidationError("codex was not found: install it with `pip install openai-codex-cli-bin`, or pass --codex PATH")
        }
        return found
    }
}

extension CodexConfiguration.Mode: ExpressibleByArgument {}
