import DroverClients
public import DroverProtocol
public import DroverTransport
import Foundation
public import Logging
public import ServiceLifecycle

/// A coordinator and what goes with it in one process, as one `Service`: the ``CoordinatorService``; once its
/// sockets are bound, the endpoints written to the state directory's `endpoints.json` and announced; the
/// ``DashboardService`` when an HTTP address is given; and the plans to submit on start.
///
/// `drover coordinator` runs it alone; `drover run` runs it beside local workers. It ends when the coordinator
/// ends (on graceful shutdown, or with the coordinator's error), and the dashboard ends with it.
///
/// ```swift
/// let application = CoordinatorApplication(configuration: configuration, stateDirectory: ".drover", logger: logger)
/// let group = ServiceGroup(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct CoordinatorApplication: Service {
    /// Where the dashboard listens.
    public struct HTTPAddress: Sendable, Equatable {
        public var host: String
        /// 0 picks a free port.
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public let configuration: CoordinatorConfiguration
    /// Where `endpoints.json` is written, for commands that find the coordinator through the state directory.
    public let stateDirectory: String
    /// Where to serve the dashboard and `/metrics`; nil serves nothing.
    public let http: HTTPAddress?
    /// Plans submitted once the coordinator listens; a refusal is logged, and the coordinator goes on.
    public let plans: [Plan]
    /// The coordinator's metrics, which the dashboard serves at `/metrics`.
    public let metrics: CoordinatorMetrics
    private let logger: Logger
    private let onListening: @Sendable (Endpoints) -> Void
    private let onDashboard: @Sendable (String) -> Void

    /// - Parameters:
    ///   - onListening: called once the coordinator's sockets are bound, with the endpoints as bound (wildcard
    ///     ports resolved), after `endpoints.json` is written.
    ///   - onDashboard: called with the dashboard's URL once it listens.
    public init(
        configuration: CoordinatorConfiguration,
        stateDirectory: String,
        http: HTTPAddress? = nil,
        plans: [Plan] = [],
        metrics: CoordinatorMetrics = CoordinatorMetrics(),
        logger: Logger,
        onListening: @escaping @Sendable (Endpoints) -> Void = { _ in },
        onDashboard: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.stateDirectory = stateDirectory
        self.http = http
        self.plans = plans
        self.metrics = metrics
        self.logger = logger
        self.onListening = onListening
        self.onDashboard = onDashboard
    }

    public func run() async throws {
        let (listening, announce) = AsyncStream.makeStream(of: Endpoints.self, bufferingPolicy: .bufferingNewest(1))
        let coordinator = CoordinatorService(configuration: configuration, logger: logger, metrics: metrics) { bound in
            publish(bound)
            announce.yield(bound)
            announce.finish()
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: coordinator)]
        if http != nil || !plans.isEmpty {
            // Listed after the coordinator: a graceful shutdown stops services in reverse order, so these stop first.
            services.append(.init(service: Dependents(application: self, listening: listening), successTerminationBehavior: .ignore))
        }
        try await ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger)).run()
    }

    /// What starts once the coordinator listens: the dashboard, and the submission of the start-up plans.
    private struct Dependents: Service {
        let application: CoordinatorApplication
        let listening: AsyncStream<Endpoints>

        func run() async throws {
            guard let bound = await listening.first(where: { _ in true }) else { return }
            let application = self.application
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let http = application.http {
                    let dashboard = DashboardService(
                        host: http.host,
                        port: http.port,
                        metrics: application.metrics,
                        logger: application.logger,
                        coordinator: bound,
                        security: application.configuration.ownClientSecurity,
                        // A login where other machines can reach the page; none on loopback (the laptop case).
                        tokens: BindExposure.isExposed("tcp://\(http.host):\(http.port)")
                            ? DashboardTokens(stateDirectory: application.stateDirectory) : nil,
                        onListening: application.onDashboard
                    )
                    group.addTask { try await dashboard.run() }
                }
                if !application.plans.isEmpty {
                    group.addTask { await cancelWhenGracefulShutdown { await application.submit(to: bound) } }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Records the endpoints in the state directory and announces them.
    private func publish(_ bound: Endpoints) {
        do {
            try EndpointsFile.write(bound, in: stateDirectory)
        } catch {
            logger.warning(
                "could not write \(EndpointsFile.path(in: stateDirectory)): \(error); other commands need --control and --events",
                metadata: ["drover.state_dir": "\(stateDirectory)"]
            )
        }
        onListening(bound)
    }

    /// Submits the start-up plans in order, through one connection.
    private func submit(to bound: Endpoints) async {
        do {
            try await ControlClient.withConnection(
                endpoint: Endpoints.connectable(bound.control),
                security: configuration.ownClientSecurity
            ) { client in
                for plan in plans {
                    do {
                        _ = try await client.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.error("could not submit plan \(plan.id): \(error)")
                    }
                }
            }
        } catch {
            logger.error("could not submit the plans: \(error)")
        }
    }
}
