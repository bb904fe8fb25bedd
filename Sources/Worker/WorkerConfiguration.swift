public import DroverProtocol
public import DroverTransport
import Foundation

/// How a worker runs. Every field has a default that suits one machine.
public struct WorkerConfiguration: Sendable {
    /// The worker's id: its ZeroMQ routing id and its name in events. Unique per coordinator.
    public var id: String
    public var host: String
    /// How many TODOs it works on at once.
    public var slots: Int
    /// Capabilities it offers; a TODO's labels must all be among them.
    public var labels: [String]
    /// The coordinator's work endpoint.
    public var coordinator: String
    /// Where commands run.
    public var workdir: String
    /// On SIGTERM, how long running TODOs may finish before they are handed back.
    public var drainTimeout: Duration
    /// How often an unacknowledged report is sent again.
    public var resendInterval: Duration
    /// Heartbeat interval until the coordinator's `welcome` says otherwise.
    public var heartbeatInterval: Duration
    /// A session's work is checkpointed during a turn too, after it changed files or ran a command, at most this
    /// often; nil checkpoints only at the end of each turn. A worker that dies mid-turn loses no more than this.
    public var checkpointInterval: Duration?
    /// The worker's CURVE keys and the coordinator's public key, when the coordinator has keys.
    public var security: SocketSecurity
    /// What takes secrets out of every message the worker sends: formats, and the values of its secret environment
    /// variables (`--secret-env`).
    public var redactor: Redactor

    public init(
        id: String,
        host: String = ProcessInfo.processInfo.hostName,
        slots: Int = 1,
        labels: [String] = [],
        coordinator: String = "tcp://127.0.0.1:7100",
        workdir: String = FileManager.default.currentDirectoryPath,
        drainTimeout: Duration = .seconds(30),
        resendInterval: Duration = .seconds(1),
        heartbeatInterval: Duration = .milliseconds(500),
        checkpointInterval: Duration? = .seconds(30),
        security: SocketSecurity = .none,
        redactor: Redactor = Redactor(knownSecrets: Redactor.secrets(in: ProcessInfo.processInfo.environment))
    ) {
        self.redactor = redactor
        self.checkpointInterval = checkpointInterval
        self.security = security
        self.id = id
        self.host = host
        self.slots = slots
        self.labels = labels
        self.coordinator = coordinator
        self.workdir = workdir
        self.drainTimeout = drainTimeout
        self.resendInterval = resendInterval
        self.heartbeatInterval = heartbeatInterval
    }
}
