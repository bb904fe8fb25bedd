import Foundation

/// How a worker runs codex: which binary, which model and provider, where codex keeps its state.
public struct CodexConfiguration: Sendable {
    /// How turns are run.
    public enum Mode: String, Sendable, CaseIterable {
        /// `codex app-server`: one process per lease, JSON-RPC both ways, approvals answered, turns interrupted.
        case appServer = "app-server"
        /// `codex exec --json`, one process per turn, `exec resume` to go on: the fallback.
        case exec
    }

    public var mode: Mode
    /// The `codex` executable.
    public var executable: String
    public var model: String
    /// A Responses API base URL (`http://127.0.0.1:8080/v1`) for a custom provider; nil uses codex's own provider
    /// with the credentials in the environment (`OPENAI_API_KEY`, `CODEX_API_KEY`) or codex's auth file.
    public var baseURL: String?
    /// For a custom provider: the environment variable holding its API key. Only the name is ever written down.
    public var apiKeyVariable: String?
    /// `read-only`, `workspace-write` or `danger-full-access`.
    public var sandbox: String
    /// Where each lease gets its own `CODEX_HOME`.
    public var homeRoot: String
    /// codex's own limit on a silent model stream, in milliseconds; nil keeps codex's default (300000).
    public var streamIdleTimeoutMilliseconds: Int?
    /// With a custom provider (``baseURL``): how often codex itself retries a dropped model stream before the turn
    /// fails. 0 (the default): Drover decides about retries (its transient-error recovery); codex's own retries would
    /// hide a failing model for minutes.
    public var streamMaxRetries = 0
    /// app-server mode: how long a turn's `turn/completed` may come after its thread stopped (idle, or a system
    /// error) before Drover reads the turn's end with `thread/read` (``StalledTurnCheck``).
    public var stalledTurnGrace: Duration = .seconds(5)
    /// codex features turned on or off in each session's `config.toml` (`[features]`). `goals` is off: codex's goal
    /// loop (the model may `create_goal`, and codex then starts turns by itself until the goal is complete) would
    /// fight Drover's supervisor, which is the session's loop (docs/codex-versions.md).
    public var features: [String: Bool] = ["goals": false]
    /// A turn with no agent event for this long, while no command runs, is hung.
    public var idleTimeout: Duration
    /// The same command with the same result this many times in a turn is a loop.
    public var loopThreshold: Int
    /// Transient model errors retried in a row before the TODO fails.
    public var transientRetries: Int
    /// The first back-off after a transient error when the server named no delay; it doubles each time.
    public var backoff: Duration

    public init(
        executable: String,
        mode: Mode = .appServer,
        model: String = "gpt-5.5",
        baseURL: String? = nil,
        apiKeyVariable: String? = nil,
        sandbox: String = "workspace-write",
        homeRoot: String = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/drover/codex").path,
        streamIdleTimeoutMilliseconds: Int? = nil,
        idleTimeout: Duration = .seconds(180),
        loopThreshold: Int = 3,
        transientRetries: Int = 3,
        backoff: Duration = .seconds(1)
    ) {
        self.idleTimeout = idleTimeout
        self.loopThreshold = loopThreshold
        self.transientRetries = transientRetries
        self.backoff = backoff
        self.mode = mode
        self.executable = executable
        self.model = model
        self.baseURL = baseURL
        self.apiKeyVariable = apiKeyVariable
        self.sandbox = sandbox
        self.homeRoot = homeRoot
        self.streamIdleTimeoutMilliseconds = streamIdleTimeoutMilliseconds
    }

    /// Makes a `CODEX_HOME` for one session that no other session anywhere on this host shares, with this
    /// configuration's `config.toml` in it: `<homeRoot>/<lease>.<8 hex digits>`, made by a `mkdir` that fails when
    /// the path exists. Two coordinators' leases can have the same id (`<plan>/<todo>@<epoch>`): named by the lease
    /// alone, one session's `config.toml` (its model server, its key) would be written over by the other's.
    /// ``removeSessionHome(_:)`` takes it away when the session ends.
    func makeSessionHome(for leaseID: String) throws -> String {
        try FileManager.default.createDirectory(atPath: homeRoot, withIntermediateDirectories: true)
        var attempt = 0
        while true {
            let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let path = "\(homeRoot)/\(GitWorkspace.safe(leaseID)).\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            } catch CocoaError.fileWriteFileExists where attempt < 8 {
                attempt += 1
                continue
            }
            try prepareHome(at: path)
            return path
        }
    }

    /// Takes a session's `CODEX_HOME` away (its config, logs and rollouts): its lease is over.
    func removeSessionHome(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Makes `path` a `CODEX_HOME` with this configuration's `config.toml` in it.
    func prepareHome(at path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try configTOML.write(toFile: "\(path)/config.toml", atomically: true, encoding: .utf8)
    }

    /// The `config.toml` for a lease's `CODEX_HOME`.
    var configTOML: String {
        var lines = ["model = \(Self.quoted(model))"]
        if baseURL != nil { lines.append("model_provider = \"drover\"") }
        lines += ["", "[analytics]", "enabled = false"]
        if !features.isEmpty {
            lines += ["", "[features]"] + features.sorted { $0.key < $1.key }.map { "\(Self.quoted($0.key)) = \($0.value)" }
        }
        if let baseURL {
            lines += [
                "", "[model_providers.drover]", "name = \"Drover provider\"", "base_url = \(Self.quoted(baseURL))",
                "wire_api = \"responses\"", "supports_websockets = false",
                // Drover decides about retries itself; codex's own would hide failures for minutes.
                "request_max_retries = 0", "stream_max_retries = \(streamMaxRetries)",
            ]
            if let apiKeyVariable { lines.append("env_key = \(Self.quoted(apiKeyVariable))") }
            if let streamIdleTimeoutMilliseconds { lines.append("stream_idle_timeout_ms = \(streamIdleTimeoutMilliseconds)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The codex from the PyPI package `openai-codex-cli-bin`, or `codex` on the PATH.
    public static func findExecutable() -> String? {
        let fileManager = FileManager.default
        if let path = ProcessInfo.processInfo.environment["DROVER_CODEX"], fileManager.isExecutableFile(atPath: path) { return path }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/codex"
            if fileManager.isExecutableFile(atPath: path) { return path }
        }
        // pip puts the binary inside the package: site-packages/codex_cli_bin/bin/codex.
        let pythonRoots = [
            fileManager.homeDirectoryForCurrentUser.appendingPathComponent(".pyenv/versions").path, "/usr/local/lib", "/usr/lib",
        ]
        for root in pythonRoots {
            guard let versions = try? fileManager.contentsOfDirectory(atPath: root) else { continue }
            for version in versions.sorted().reversed() {
                for lib in ["\(root)/\(version)/lib", "\(root)/\(version)"] {
                    guard let pythons = try? fileManager.contentsOfDirectory(atPath: lib) else { continue }
                    for python in pythons where python.hasPrefix("python3") {
                        for packages in ["site-packages", "dist-packages"] {
                            let path = "\(lib)/\(python)/\(packages)/codex_cli_bin/bin/codex"
                            if fileManager.isExecutableFile(atPath: path) { return path }
                        }
                    }
                }
            }
        }
        return nil
    }
}
