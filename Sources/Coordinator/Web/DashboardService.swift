import DroverClients
public import DroverTransport
import Foundation
import Hummingbird
import HummingbirdWebSocket
public import Logging
import NIOCore
public import ServiceLifecycle

/// The web dashboard and `/metrics`, served over HTTP beside a coordinator.
///
/// The page and its JSON API are a client of the coordinator's public protocol like any other: requests go to the
/// control socket through one ``ControlClient`` connection the service keeps while it runs, and the live feed is an
/// ``EventFollower`` per browser, forwarded over a WebSocket. So the web server shares nothing with the
/// coordinator's thread but the metrics registry, which is made for that.
///
/// Routes: `GET /` (the page), `GET /api/status`, `GET /api/review`, `GET /api/inbox`, `GET /api/events?after=N`,
/// `POST /api/answer` (`{"item","decision","text"}`), `GET /metrics`, `GET /ws?after=N` (WebSocket: one event
/// per text message, as in the event log), and the probes `GET /healthz` (liveness) and `GET /readyz` (readiness,
/// ``Readiness``), in plain text.
public struct DashboardService: Service {
    /// `host:port` to listen on; port 0 picks a free one.
    public var host: String
    public var port: Int
    public var metrics: CoordinatorMetrics
    /// The coordinator's endpoints, as it bound them.
    public var coordinator: Endpoints
    /// How the dashboard's client connects to the coordinator: with the coordinator's own keys when it has keys.
    public var security: SocketSecurity
    /// How long `/readyz` waits for the coordinator's control socket to answer before it answers 503.
    public var readinessTimeout: Duration
    /// The tokens a user logs in with; nil serves everyone (loopback). ``CoordinatorApplication`` sets it when the
    /// dashboard listens where other machines can reach it.
    public var tokens: DashboardTokens?
    private let onListening: @Sendable (String) -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - coordinator: the coordinator's endpoints, as bound (a wildcard address is reached on loopback).
    ///   - readinessTimeout: how long `/readyz` waits for the control socket's answer.
    ///   - onListening: called with the page's URL once the server listens.
    public init(
        host: String,
        port: Int,
        metrics: CoordinatorMetrics,
        logger: Logger,
        coordinator: Endpoints,
        security: SocketSecurity = .none,
        readinessTimeout: Duration = .seconds(2),
        tokens: DashboardTokens? = nil,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.tokens = tokens
        self.security = security
        self.readinessTimeout = readinessTimeout
        self.host = host
        self.port = port
        self.metrics = metrics
        self.logger = logger
        self.coordinator = coordinator
        self.onListening = onListening
    }

    public func run() async throws {
        let control = Endpoints.connectable(coordinator.control)
        try await ControlClient.withConnection(endpoint: control, timeout: .seconds(10), security: security) { client in
            // The readiness probe has a connection of its own, so it does not wait behind the page's requests.
            try await ControlClient.withConnection(endpoint: control, timeout: readinessTimeout, security: security) { probe in
                try await serve(
                    DashboardAPI(client: client, events: Endpoints.connectable(coordinator.events), metrics: metrics, probe: probe)
                )
            }
        }
    }

    private func serve(_ api: DashboardAPI) async throws {
        let router = Router(context: DashboardContext.self)
        if let tokens {
            let login = DashboardLogin(tokens: tokens)
            login.addMiddleware(to: router)
            login.addRoutes(to: router)
        }
        api.addRoutes(to: router)
        let (host, onListening) = (self.host, self.onListening)
        let application = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "drover"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                onListening("http://\(host.contains(":") ? "[\(host)]" : host):\(port)/")
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            // The dashboard is an extra: a port in use must not take the coordinator down with it.
            logger.error(
                "the dashboard is not served: \(error); pass --http HOST:PORT with a free port, or --http none",
                metadata: ["drover.http": "\(host):\(port)"]
            )
            try? await gracefulShutdown()
        }
    }
}
