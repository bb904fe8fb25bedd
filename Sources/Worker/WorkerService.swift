public import Logging
public import ServiceLifecycle
import Shared

/// The worker process as a `Service`: connects to the coordinator, runs one agent per slot, and on graceful
/// shutdown drains (finishes or hands back its work, flushes its reports, says `bye`).
public struct WorkerService: Service {
    public let configuration: WorkerConfiguration
    private let agent: any AgentSession
    private let logger: Logger

    public init(configuration: WorkerConfiguration, agent: any AgentSession = CommandAgent(), logger: Logger) {
        self.configuration = configuration
        self.agent = agent
        var logger = logger
        logger[metadataKey: "drover.worker"] = "\(configuration.id)"
        self.logger = logger
    }

    public func run() async throws {
        let context = try ZMQContext()
        let (inputs, continuation) = AsyncStream.makeStream(of: WorkerInput.self)
        try await SocketLoop.run(
            name: "drover-worker",
            context: context,
            sockets: [SocketSpec(.dealer, connect: [configuration.coordinator], routingID: configuration.id)],
            tick: .milliseconds(100)
        ) { _ in
            WorkerStreamHandler(continuation: continuation)
        } body: { loop in
            let core = WorkerCore(configuration: configuration, agent: agent, loop: loop, inputs: continuation, logger: logger)
            let clock = ContinuousClock()
            let start = clock.now
            logger.info(
                "worker started",
                metadata: ["drover.coordinator": "\(configuration.coordinator)", "drover.slots": "\(configuration.slots)"]
            )
            await withGracefulShutdownHandler {
                for await input in inputs {
                    core.handle(input, now: start.duration(to: clock.now).milliseconds)
                    if core.isDone { break }
                }
            } onGracefulShutdown: {
                continuation.yield(.drain)
            }
        }
        context.terminate()
        logger.info("worker stopped")
    }
}
