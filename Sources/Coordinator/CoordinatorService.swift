import DroverProtocol
public import DroverTransport
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// The coordinator process as a `Service`: binds the work, event and control sockets and runs the core on the
/// socket loop's thread until graceful shutdown.
public struct CoordinatorService: Service {
    public let configuration: CoordinatorConfiguration
    /// Its Prometheus metrics, for whatever serves `/metrics`.
    public let metrics: CoordinatorMetrics
    private let logger: Logger
    private let onListening: @Sendable (Endpoints) -> Void

    /// - Parameters:
    ///   - onListening: called once every socket is bound, with the endpoints as bound (wildcard ports resolved).
    public init(
        configuration: CoordinatorConfiguration,
        logger: Logger,
        metrics: CoordinatorMetrics = CoordinatorMetrics(),
        onListening: @escaping @Sendable (Endpoints) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        Allocator.keepFreedMemory()
        let configuration = self.configuration
        let logger = self.logger
        let metrics = self.metrics
        let exposed = BindExposure.exposed(configuration.endpoints)
        if configuration.keys == nil, !exposed.isEmpty {
            guard configuration.insecure else { throw DroverError(.unsafe, BindExposure.refusal(exposed)) }
            logger.warning(
                "listening without keys on addresses other machines can reach (--insecure): anyone who can connect can run commands on every worker",
                metadata: ["drover.endpoints": "\(exposed.joined(separator: " "))"]
            )
        }
        let keyRing = try configuration.keys.map { keys throws(KeyFileError) in
            try KeyRing(directory: keys.authorizedKeys, own: keys.keyPair.publicKey, logger: logger, metrics: metrics)
        }
        let lock = try Self.lockStateDirectory(of: configuration.statePath)
        defer { lock?.release() }
        let audit = configuration.auditLogPath.map { AuditLog(path: $0, maxBytes: configuration.auditLogMaxBytes) }
        let context = try ZMQContext()
        defer {
            context.terminate()
            audit?.flush()
        }
        let endpoints = configuration.endpoints
        func security(_ socket: SocketDomain) -> SocketSecurity {
            configuration.keys.map { .curveServer($0.keyPair, domain: socket.rawValue) } ?? .none
        }
        let sockets = [
            SocketSpec(.router, bind: [endpoints.work], security: security(.work)),
            SocketSpec(.pub, bind: [endpoints.events], highWaterMark: 1_000_000, security: security(.events)),
            SocketSpec(
                .router,
                bind: [endpoints.control],
                maxMessageSize: Int64(WireLimits.documentBytes) + 4096,
                security: security(.control)
            ),
        ]
        if let keyRing {
            logger.info(
                "CURVE keys on every socket",
                metadata: [
                    "drover.key": "\(configuration.keys?.keyPair.publicKey.z85 ?? "")",
                    "drover.authorized": "\(keyRing.keys.holders.count)",
                ]
            )
            try await ZAPService.run(context: context, authorize: keyRing.authorize) {
                try await serve(sockets: sockets, keyRing: keyRing, context: context, audit: audit)
            }
        } else {
            try await serve(sockets: sockets, keyRing: nil, context: context, audit: audit)
        }
    }

    private func serve(sockets: [SocketSpec], keyRing: KeyRing?, context: ZMQContext, audit: AuditLog?) async throws {
        let configuration = self.configuration
        let logger = self.logger
        let metrics = self.metrics
        let endpoints = configuration.endpoints
        let onListening = self.onListening
        do {
            try await SocketLoop.run(
                name: "drover-coordinator",
                context: context,
                sockets: sockets,
                tick: configuration.tick
            ) { loop in
                let store = try Store(path: configuration.statePath)
                let core = try CoordinatorCore(
                    configuration: configuration,
                    store: store,
                    logger: logger,
                    metrics: metrics,
                    audit: audit,
                    keyRing: keyRing,
                    now: 0
                )
                return CoordinatorHandler(core: core, loop: loop)
            } body: { loop in
                let bound = Endpoints(
                    work: loop.boundEndpoints[0].first ?? endpoints.work,
                    events: loop.boundEndpoints[1].first ?? endpoints.events,
                    control: loop.boundEndpoints[2].first ?? endpoints.control
                )
                logger.info(
                    "coordinator listening",
                    metadata: ["drover.work": "\(bound.work)", "drover.events": "\(bound.events)", "drover.control": "\(bound.control)"]
                )
                onListening(bound)
                await withGracefulShutdownHandler {
                    await loop.waitUntilFinished()
                } onGracefulShutdown: {
                    loop.stop()
                }
            }
        } catch let error as CoordinatorHandler.StoreFailure {
            logger.critical("coordinator stopped: the state store failed", metadata: ["drover.error": "\(error.underlying)"])
            throw error.underlying
        }
    }

    /// The lock of the state file's directory, held while the coordinator runs (none for an in-memory state): one
    /// writer per state file.
    /// - Throws: ``DroverError`` (`in_use`) naming who holds it.
    static func lockStateDirectory(of statePath: String) throws -> StateDirectoryLock? {
        guard statePath != ":memory:" else { return nil }
        let parent = (statePath as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            return try StateDirectoryLock.acquire(in: directory, holder: "coordinator")
        } catch let held as StateDirectoryLock.Held {
            throw DroverError(
                .inUse,
                "cannot start: \(held); two writers would corrupt its state. Stop that one first, or give this coordinator "
                    + "a --state-dir of its own"
            )
        }
    }
}
