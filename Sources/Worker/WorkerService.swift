import DroverProtocol
import DroverTransport
public import Logging
public import ServiceLifecycle

/// The worker process as a `Service`: connects to the coordinator, runs one agent per slot, and on graceful
/// shutdown drains (finishes or hands back its work, flushes its reports, says `bye`).
///
/// It only wires things together: the socket loop and the sessions feed one stream of ``WorkerInput``s into a
/// ``WorkerCore``, and the ``WorkerEffect``s the core returns are carried out here.
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
            sockets: [
                SocketSpec(.dealer, connect: [configuration.coordinator], routingID: configuration.id, security: configuration.security)
            ],
            tick: .milliseconds(100)
        ) { _ in
            WorkerStreamHandler(continuation: continuation)
        } body: { loop in
            let core = WorkerCore(configuration: configuration, logger: logger)
            var tasks = LeaseTasks(
                run: LeaseRun(
                    agent: agent,
                    workdir: configuration.workdir,
                    worker: configuration.id,
                    checkpointInterval: configuration.checkpointInterval,
                    redactor: configuration.redactor
                ),
                inputs: continuation
            )
            let clock = ContinuousClock()
            let start = clock.now
            logger.info(
                "worker started",
                metadata: ["drover.coordinator": "\(configuration.coordinator)", "drover.slots": "\(configuration.slots)"]
            )
            await withGracefulShutdownHandler {
                main: for await input in inputs {
                    if case .finished(let leaseID, _) = input { tasks.finished(leaseID) }
                    for effect in core.handle(input, now: start.duration(to: clock.now).milliseconds) {
                        switch effect {
                        case .send(let frames): loop.send(OutboundMessage(socket: 0, frames: frames))
                        case .start(let body): tasks.start(body)
                        case .cancel(let leaseID): tasks.cancel(leaseID)
                        case .abort(let leaseID): tasks.abort(leaseID)
                        case .steer(let leaseID, let text): tasks.steer(leaseID, text)
                        case .pause(let leaseID): tasks.pause(leaseID)
                        case .answer(let item, let answer): tasks.asks.resume(item, with: answer)
                        case .decide(let item, let verdict): tasks.recoveries.resume(item, with: verdict)
                        case .done: break main
                        }
                    }
                }
            } onGracefulShutdown: {
                continuation.yield(.drain)
            }
        }
        context.terminate()
        logger.info("worker stopped")
    }
}
