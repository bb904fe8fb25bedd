import ArgumentParser
import DroverProtocol
import DroverTransport
import Foundation
import ServiceLifecycle
import UnixSignals
import Worker

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: it takes TODOs from a coordinator and runs them, one per slot."
    )

    @Option(help: "Worker id, unique among the coordinator's workers (letters, digits, _ and -).")
    var id: String = "\(ProcessInfo.processInfo.hostName.split(separator: ".").first ?? "worker")-\(getpid())"
    @Option(help: "The coordinator's work endpoint.") var coordinator = Endpoints().work
    @Option(help: "How many TODOs to run at once.") var slots = 1
    @Option(name: .customLong("label"), help: "A capability this worker offers (repeatable).") var labels: [String] = []
    @Option(help: "Directory commands run in.") var workdir = FileManager.default.currentDirectoryPath
    @Option(help: "On SIGTERM, seconds running TODOs may finish before they are handed back.") var drainTimeout: Double = 30
    @OptionGroup(title: "Agent") var agent: AgentOptions
    @OptionGroup(title: "Keys") var keys: ClientKeyOptions
    @OptionGroup(title: "Secrets") var secrets: RedactionOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let problem = Identifier.problem(with: id) { throw ValidationError("--id \(problem)") }
        for label in labels {
            if let problem = Identifier.problem(with: label) { throw ValidationError("--label \(problem)") }
        }
        guard (1...1024).contains(slots) else { throw ValidationError("--slots must be between 1 and 1024, not \(slots)") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must not be negative") }
        try agent.check()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workdir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--workdir \(workdir) is not a directory")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "drover.worker")
        await agent.warnAboutCodexVersion(logger: logger)
        let configuration = WorkerConfiguration(
            id: id,
            slots: slots,
            labels: labels,
            coordinator: coordinator,
            workdir: workdir,
            drainTimeout: .milliseconds(Int64(drainTimeout * 1000)),
            checkpointInterval: agent.checkpointsDuringTurns,
            security: try keys.security(),
            redactor: secrets.redactor
        )
        let group = ServiceGroup(
            services: [WorkerService(configuration: configuration, agent: try agent.session(), logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }
}
