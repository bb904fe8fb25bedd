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
        abstract: "Run a plan, or a job from a goal, on this machine: a coordinator and local workers in one process, state in .drover/.",
        discussion: """
            `drover run PLAN` runs a plan file; exits 0 when every TODO is done, 1 when the plan ends with failed or \
            skipped TODOs. `drover run --goal "GOAL" --repository . --agent codex` starts a job instead and follows it \
            through its steps (docs/jobs.md); exits 0 when the job is done, 1 when it failed or was cancelled.
            """
    )

    @Argument(help: "The plan file (YAML or JSON); leave it out with --goal.") var plan: String?
    @Option(help: "Start a job from this goal instead of running a plan file (with --repository).") var goal: String?
    @OptionGroup(title: "Job (with --goal)") var job: JobStartOptions
    @Flag(help: "With --goal: approve every permission the job's plan needs, without asking.") var approvePermissions = false
    @Option(help: "Local workers to start.") var workers = 3
    @Option(help: "Slots per worker.") var slots = 1
    @Option(help: "State directory.") var stateDir = ".drover"
    @Option(help: "Directory TODO commands run in.") var workdir = FileManager.default.currentDirectoryPath
    @Flag(help: "Forget earlier runs: start from an empty state directory.") var fresh = false
    @Flag(help: "Print the final status as JSON instead of progress.") var json = false
    @Option(help: "Least severe log level written to stderr.") var logLevel: Logger.Level = .warning
    @Option(help: "Serve the web dashboard and /metrics at HOST:PORT while the plan runs (port 0 picks one), or none.")
    var http = "none"
    @Flag(help: "When the plan has ended, have a codex reviewer recommend tests, deployment notes and follow-up work for its report.")
    var ai = false
    @Option(help: "With --ai: seconds to wait for the review.") var aiTimeout: Double = 1800
    @Option(help: "Seconds a usage limit may park a TODO until its reset; a reset further away escalates it, naming the time.")
    var maxPark: Double = Double(CoordinatorConfiguration.defaultMaxPark.milliseconds / 1000)
    @OptionGroup(title: "Agent") var agent: AgentOptions
    @OptionGroup(title: "Advisor") var advisor: AdvisorOptions
    @OptionGroup(title: "Spend") var spend: PriceOptions
    @OptionGroup(title: "Secrets") var secrets: RedactionOptions

    func validate() throws {
        guard maxPark >= 0, maxPark.isFinite else {
            throw ValidationError(
                "--max-park (\(maxPark)) must be a number of seconds, 0 or more (0: escalate every usage limit whose reset is still ahead)"
            )
        }
        if let goal {
            if plan != nil { throw ValidationError("give a plan file or --goal, not both") }
            try job.validate(goal: goal)
            if agent.agent != .codex {
                throw ValidationError("--goal needs --agent codex: the job's classify, investigate and plan steps are codex sessions")
            }
        } else {
            if plan == nil {
                throw ValidationError("give a plan file (drover run plan.yaml), or a goal (drover run --goal \"GOAL\" --repository .)")
            }
            if job.repository != nil || job.base != nil || job.id != nil || approvePermissions {
                throw ValidationError(
                    "--repository, --base, --id and --approve-permissions go with --goal (a plan file names its repository)"
                )
            }
        }
        try agent.check()
        try advisor.check()
        _ = try spend.table
        if ai {
            if goal != nil { throw ValidationError("--ai goes with a plan file; for a job's plan: drover plan report JOB --ai") }
            if agent.agent != .codex { throw ValidationError("--ai needs --agent codex: the reviewer is a codex session") }
            guard aiTimeout > 0 else { throw ValidationError("--ai-timeout must be a positive number of seconds, not \(aiTimeout)") }
        }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256, not \(workers)") }
        guard (1...64).contains(slots) else { throw ValidationError("--slots must be between 1 and 64, not \(slots)") }
        _ = try httpAddress(http)
    }

    func run() async throws {
        let logger = bootstrapLogging(label: "drover.run", level: logLevel)
        await agent.warnAboutCodexVersion(logger: logger)
        if let goal { return try await runJob(goal, logger: logger) }
        let file = self.plan ?? ""
        let plan: Plan
        do {
            plan = try PlanLoader.load(path: file)
        } catch let error as PlanError {
            printError(error.description)
            printError("fix the plan, then run again (`drover plan validate \(file)` checks it alone)")
            throw ExitCode(1)
        }
        if fresh { try removeState() }
        let cluster = try self.cluster(logger: logger)
        let final = try await cluster.run(plan, quiet: json, aiReview: ai ? .milliseconds(Int64(aiTimeout * 1000)) : nil)
        guard let final else {
            printError("stopped before the plan finished; run the same command again to go on where it stopped")
            throw ExitCode(130)
        }
        if json { printJSON(final) }
        if final.plans.first(where: { $0.id == plan.id })?.state != .done { throw ExitCode(1) }
    }

    /// `--goal`: starts the job (or follows it, when `--id` names one already in the state directory) to its end.
    private func runJob(_ goal: String, logger: Logger) async throws {
        let repository = try job.checkedRepository()
        if fresh { try removeState() }
        let permissions: JobMonitor.PermissionMode =
            approvePermissions ? .approveAll : isatty(STDIN_FILENO) == 1 ? .ask : .printCommands
        let start = JobMonitor.Start(goal: goal, repository: repository, base: job.base, id: job.id)
        let final = try await cluster(logger: logger).run(
            start,
            permissions: permissions,
            answerArguments: stateDir == ".drover" ? [] : ["--state-dir", stateDir],
            quiet: json
        )
        guard let final else {
            printError(
                "stopped before the job finished; its state is kept in \(stateDir)"
                    + (job.id == nil ? "" : ": run the same command again to go on following it")
            )
            throw ExitCode(130)
        }
        if json { printJSON(final) }
        if final.state != .done { throw ExitCode(1) }
    }

    /// `--fresh`: removes the state directory, unless a coordinator runs on it.
    private func removeState() throws {
        do {
            if FileManager.default.fileExists(atPath: stateDir) {
                try StateDirectoryLock.acquire(in: stateDir, holder: "drover run --fresh").release()
            }
        } catch let held as StateDirectoryLock.Held {
            throw ValidationError("\(held): --fresh would remove its state; stop it first, or pass another --state-dir")
        } catch {
            // Not a directory we can lock: removing it says what is wrong, or starting in it will.
        }
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    private func cluster(logger: Logger) throws -> LocalCluster {
        LocalCluster(
            stateDir: stateDir,
            workers: workers,
            slots: slots,
            workdir: workdir,
            agent: try agent.session(),
            logger: logger,
            http: try httpAddress(http),
            checkpointInterval: agent.checkpointsDuringTurns,
            advisor: advisor.policy,
            prices: try spend.table,
            planCostCap: spend.planCostCap,
            maxPark: .milliseconds(Int64(maxPark * 1000)),
            redactor: secrets.redactor
        )
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
    /// How often the workers checkpoint a session during a turn (``WorkerConfiguration/checkpointInterval``).
    var checkpointInterval: Duration? = .seconds(30)
    /// When stuck TODOs get advice (``CoordinatorConfiguration/advisor``).
    var advisor = AdvisorPolicy()
    /// What model tokens cost (``CoordinatorConfiguration/prices``).
    var prices = PriceTable()
    /// Dollars a plan may spend before it is paused and the operators asked (``CoordinatorConfiguration/planCostCap``).
    var planCostCap: Double?
    /// How long a usage limit may park a TODO (``CoordinatorConfiguration/maxPark``).
    var maxPark = CoordinatorConfiguration.defaultMaxPark
    /// What takes secrets out of what the workers send (``WorkerConfiguration/redactor``).
    var redactor = Redactor(knownSecrets: Redactor.secrets(in: ProcessInfo.processInfo.environment))

    /// The endpoints of the coordinator, ipc sockets in the state directory.
    var endpoints: Endpoints { Endpoints.ipc(in: stateDir) }

    /// Runs `plan` to its end; returns the last status, or nil when stopped by a signal first.
    /// - Parameter aiReview: when set, the plan's AI review is asked for once it has ended, and waited for this long.
    func run(_ plan: Plan, quiet: Bool, aiReview: Duration? = nil) async throws -> StatusBody? {
        let monitor = PlanMonitor(endpoints: endpoints, plan: plan, quiet: quiet, aiReview: aiReview)
        try await run(until: monitor)
        return monitor.final
    }

    /// Starts a job (or follows the one `start.id` names) to its end; returns it as it ended, or nil when stopped by
    /// a signal first.
    func run(
        _ start: JobMonitor.Start,
        permissions: JobMonitor.PermissionMode,
        answerArguments: [String],
        quiet: Bool
    ) async throws -> JobView? {
        let monitor = JobMonitor(
            endpoints: endpoints,
            start: start,
            permissions: permissions,
            answerArguments: answerArguments,
            quiet: quiet
        )
        try await run(until: monitor)
        return monitor.final
    }

    /// Runs the coordinator and the workers until `monitor` ends.
    private func run(until monitor: some Service) async throws {
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let endpoints = self.endpoints
        let coordinator = CoordinatorApplication(
            configuration: CoordinatorConfiguration(
                endpoints: endpoints,
                statePath: "\(stateDir)/state.sqlite",
                advisor: advisor,
                prices: prices,
                planCostCap: planCostCap,
                auditLogPath: "\(stateDir)/audit.jsonl",
                maxPark: maxPark,
                redactor: redactor
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
                drainTimeout: .seconds(5),
                checkpointInterval: checkpointInterval,
                redactor: redactor
            )
            services.append(.init(service: WorkerService(configuration: configuration, agent: agent, logger: logger)))
        }
        // ipc endpoints are known before the coordinator binds them: a request waits in its socket until then.
        services.append(.init(service: monitor, successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
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
    /// How long to wait for the plan's AI review, when one is asked for.
    let aiReview: Duration?
    private let result = Mutex<StatusBody?>(nil)

    /// The least time between two progress refreshes, however fast events come.
    static let refreshInterval = Duration.milliseconds(100)

    init(endpoints: Endpoints, plan: Plan, quiet: Bool, aiReview: Duration? = nil) {
        self.endpoints = endpoints
        self.plan = plan
        self.quiet = quiet
        self.aiReview = aiReview
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
                let reviewed = await review(client)
                if !quiet { await PlanReportPrinter.print(plan.id, client, report: reviewed) }
            } catch  where Task.isShuttingDownGracefully {
                // Stopped by a signal before the plan finished: no result.
            }
        }
    }

    /// `--ai`: the report once its AI review has ended; nil without `--ai`, or when the review could not be had (said
    /// on stderr: the run's own outcome stands).
    private func review(_ client: ControlClient) async -> PlanReport? {
        guard let aiReview else { return nil }
        do {
            return try await AIReviewFollower(control: client, events: endpoints.events).review(
                plan.id,
                timeout: aiReview,
                progress: { printError($0) }
            )
        } catch {
            printError("no AI review: \(error)")
            return nil
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
        let mergePlanID = "\(plan.id)-merge"
        return try await withThrowingTaskGroup(of: StatusBody?.self) { group in
            group.addTask {
                try await follower.follow(after: first.seq) { event in
                    if event.plan == planID || event.plan == mergePlanID || event.type.subject == "worker" { change.yield() }
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
                        let line = PlanProgress.line(planStatus, workers: status.workers.count)
                        if !quiet && line != lastLine {
                            if terminal { print("\r\u{1B}[K" + line, terminator: "") } else { print(line) }
                            flushOutput()
                            lastLine = line
                        }
                        // The run ends when the plan has, and so have its merges into the integration branch.
                        let merging = status.plans.first { $0.id == mergePlanID }?.state == .running
                        if planStatus.state != .running && !merging {
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

    private func summarize(_ status: StatusBody, _ plan: StatusBody.PlanStatus, seconds: Double) {
        let total = plan.counts.values.reduce(0, +)
        print("plan \(plan.id) \(plan.state): \(plan.counts["done"] ?? 0)/\(total) TODOs done in \(String(format: "%.1f", seconds)) s")
        for todo in status.todos where todo.plan == plan.id && todo.state != .done {
            print("  \(todo.state) \(todo.id): \(todo.detail ?? "")")
        }
        if let merges = status.plans.first(where: { $0.id == "\(plan.id)-merge" }) {
            let merged = merges.counts["done"] ?? 0
            print("merged \(merged)/\(merges.counts.values.reduce(0, +)) into drover/\(plan.id)/integration")
            for todo in status.todos where todo.plan == merges.id && todo.state != .done {
                print("  not merged: \(todo.id) (\(todo.state)): \(todo.detail ?? "")")
            }
        }
        if plan.state != .done { print("see every decision with `drover events --state-dir …`") }
    }
}

/// A plan's progress in one line: `[plan] 3/5 done · 1 running · 1 ready · 3 workers`.
enum PlanProgress {
    static func line(_ plan: StatusBody.PlanStatus, workers: Int) -> String {
        let total = plan.counts.values.reduce(0, +)
        let running = (plan.counts["running"] ?? 0) + (plan.counts["assigned"] ?? 0)
        var parts = ["\(plan.counts["done"] ?? 0)/\(total) done", "\(running) running", "\(plan.counts["ready"] ?? 0) ready"]
        for state in ["failed", "skipped", "cancelled"] { if let count = plan.counts[state] { parts.append("\(count) \(state)") } }
        return "[\(plan.id)] " + parts.joined(separator: " · ") + " · \(workers) workers"
    }
}

/// The report of a finished plan, printed at the end of `drover run`.
enum PlanReportPrinter {
    /// Prints `report`, or the plan's report as the coordinator has it.
    static func print(_ plan: String, _ client: ControlClient, report: PlanReport? = nil) async {
        let asked = report == nil ? try? await client.request(.planReport, ReportRequest(plan: plan), as: PlanReport.self) : nil
        guard let report = report ?? asked else { return }
        Swift.print("")
        Swift.print(report.markdown, terminator: "")
        flushOutput()
    }
}
