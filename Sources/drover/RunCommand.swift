import ArgumentParser
import Coordinator
import DroverClients
import DroverPlans
import DroverProtocol
import DroverTransport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import Worker

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a plan on this machine: a coordinator and local workers in one process, state in .drover/.",
        discussion: "Exits 0 when every TODO is done, 1 when the plan ends with failed or skipped TODOs."
    )

    @Argument(help: "The plan file (YAML or JSON).") var plan: String
    @Option(help: "Local workers to start.") var workers = 3
    @Option(help: "Slots per worker.") var slots = 1
    @Option(help: "State directory.") var stateDir = ".drover"
    @Option(help: "Directory TODO commands run in.") var workdir = FileManager.default.currentDirectoryPath
    @Flag(help: "Forget earlier runs: start from an empty state directory.") var fresh = false
    @Flag(help: "Print the final status as JSON instead of progress.") var json = false
    @Option(help: "Least severe log level written to stderr.") var logLevel: Logger.Level = .warning
    @Option(help: "Serve the web dashboard and /metrics at HOST:PORT while the plan runs (port 0 picks one), or none.")
    var http = "none"
    @OptionGroup(title: "Agent") var agent: AgentOptions

    func validate() throws {
        try agent.check()
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256, not \(workers)") }
        guard (1...64).contains(slots) else { throw ValidationError("--slots must be between 1 and 64, not \(slots)") }
        _ = try httpAddress(http)
    }

    func run() async throws {
        let logger = bootstrapLogging(label: "drover.run", level: logLevel)
        let plan: Plan
        do {
            plan = try PlanLoader.load(path: self.plan)
        } catch let error as PlanError {
            printError(error.description)
            printError("fix the plan, then run again (`drover plan validate \(self.plan)` checks it alone)")
            throw ExitCode(1)
        }
        if fresh { try? FileManager.default.removeItem(atPath: stateDir) }
        let cluster = LocalCluster(
            stateDir: stateDir,
            workers: workers,
            slots: slots,
            workdir: workdir,
            agent: try agent.session(),
            logger: logger,
            http: try httpAddress(http)
        )
        let final = try await cluster.run(plan, quiet: json)
        guard let final else {
            printError("stopped before the plan finished; run the same command again to go on where it stopped")
            throw ExitCode(130)
        }
        if json { printJSON(final) }
        if final.plans.first(where: { $0.id == plan.id })?.state != .done { throw ExitCode(1) }
    }
}

/// A coordinator and local workers in this process (state and ipc sockets in one directory), until a plan ends.
struct LocalCluster {
    var stateDir: String
    var workers: Int
    var slots: Int
    var workdir: String
    var agent: any AgentSession
    var logger: Logger
    /// Where to serve the dashboard, if anywhere.
    var http: CoordinatorApplication.HTTPAddress? = nil

    /// Runs `plan` to its end; returns the last status, or nil when stopped by a signal first.
    func run(_ plan: Plan, quiet: Bool) async throws -> StatusBody? {
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let endpoints = Endpoints.ipc(in: stateDir)
        let coordinator = CoordinatorApplication(
            configuration: CoordinatorConfiguration(
                endpoints: endpoints,
                statePath: "\(stateDir)/state.sqlite",
                auditLogPath: "\(stateDir)/audit.jsonl"
            ),
            stateDirectory: stateDir,
            http: http,
            logger: logger,
            onDashboard: announceDashboard
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: coordinator)]
        for index in 1...workers {
            let configuration = WorkerConfiguration(
                id: "local-\(index)",
                host: ProcessInfo.processInfo.hostName,
                slots: slots,
                coordinator: endpoints.work,
                workdir: workdir,
                drainTimeout: .seconds(5)
            )
            services.append(.init(service: WorkerService(configuration: configuration, agent: agent, logger: logger)))
        }
        // ipc endpoints are known before the coordinator binds them: a request waits in its socket until then.
        let monitor = PlanMonitor(endpoints: endpoints, plan: plan, quiet: quiet)
        services.append(.init(service: monitor, successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        return monitor.final
    }
}

/// Submits the plan, shows progress until it finishes, then ends (which shuts the other services down).
///
/// Progress follows the coordinator's event stream: the status is asked for again when an event about the plan,
/// its TODOs or the workers arrives, not on a timer.
final class PlanMonitor: Service, Sendable {
    let endpoints: Endpoints
    let plan: Plan
    let quiet: Bool
    private let result = Mutex<StatusBody?>(nil)

    /// The least time between two progress refreshes, however fast events come.
    static let refreshInterval = Duration.milliseconds(100)

    init(endpoints: Endpoints, plan: Plan, quiet: Bool) {
        self.endpoints = endpoints
        self.plan = plan
        self.quiet = quiet
    }

    /// The last status, once the plan has finished.
    var final: StatusBody? { result.withLock { $0 } }

    func run() async throws {
        try await ControlClient.withConnection(endpoint: endpoints.control) { client in
            let submitted = try await client.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
            if !submitted.created && !quiet {
                print("plan \(plan.id) was already in this state directory: going on with it (--fresh starts over)")
            }
            do {
                let final = try await cancelWhenGracefulShutdown { try await self.follow(client) }
                result.withLock { $0 = final }
            } catch  where Task.isShuttingDownGracefully {
                // Stopped by a signal before the plan finished: no result.
            }
        }
    }

    /// Shows progress until the plan is no longer running; returns the last status.
    private func follow(_ client: ControlClient) async throws -> StatusBody {
        let started = ContinuousClock.now
        let terminal = isatty(STDOUT_FILENO) == 1
        // Each event that may change the progress asks for a refresh; refreshes pending together make one.
        let (changes, change) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let first = try await client.request(.status, EmptyBody(), as: StatusBody.self)
        let follower = EventFollower(events: endpoints.events, control: client)
        let planID = plan.id
        return try await withThrowingTaskGroup(of: StatusBody?.self) { group in
            group.addTask {
                try await follower.follow(after: first.seq) { event in
                    if event.plan == planID || event.type.subject == "worker" { change.yield() }
                    return true
                }
                return nil
            }
            group.addTask { [self] in
                var status = first
                var lastLine = ""
                var refreshed = ContinuousClock.now
                while true {
                    if let planStatus = status.plans.first(where: { $0.id == plan.id }) {
                        let line = progressLine(planStatus, workers: status.workers.count)
                        if !quiet && line != lastLine {
                            if terminal { print("\r\u{1B}[K" + line, terminator: "") } else { print(line) }
                            flushOutput()
                            lastLine = line
                        }
                        if planStatus.state != .running {
                            if !quiet {
                                if terminal { print("") }
                                summarize(status, planStatus, seconds: Double((ContinuousClock.now - started).milliseconds) / 1000)
                            }
                            return status
                        }
                    }
                    for await _ in changes { break }
                    try Task.checkCancellation()
                    try await Task.sleep(until: refreshed.advanced(by: Self.refreshInterval))
                    refreshed = ContinuousClock.now
                    status = try await client.request(.status, EmptyBody(), as: StatusBody.self)
                }
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let finished { return finished }
            }
            throw CancellationError()
        }
    }

    private func progressLine(_ plan: StatusBody.PlanStatus, workers: Int) -> String {
        let total = plan.counts.values.reduce(0, +)
        let running = (plan.counts["running"] ?? 0) + (plan.counts["assigned"] ?? 0)
        var parts = ["\(plan.counts["done"] ?? 0)/\(total) done", "\(running) running", "\(plan.counts["ready"] ?? 0) ready"]
        for state in ["failed", "skipped", "cancelled"] { if let count = plan.counts[state] { parts.append("\(count) \(state)") } }
        return "[\(plan.id)] " + parts.joined(separator: " · ") + " · \(workers) workers"
    }

    private func summarize(_ status: StatusBody, _ plan: StatusBody.PlanStatus, seconds: Double) {
        let total = plan.counts.values.reduce(0, +)
        print("plan \(plan.id) \(plan.state): \(plan.counts["done"] ?? 0)/\(total) TODOs done in \(String(format: "%.1f", seconds)) s")
        for todo in status.todos where todo.plan == plan.id && todo.state != .done {
            print("  \(todo.state) \(todo.id): \(todo.detail ?? "")")
        }
        if plan.state != .done { print("see every decision with `drover events --state-dir …`") }
    }
}
