import ArgumentParser
import Coordinator
import DroverClients
import DroverPlans
import DroverProtocol
import DroverTransport
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run a coordinator: it schedules TODOs to workers, holds leases and keeps state in SQLite."
    )

    @Option(help: "Work endpoint workers connect to.") var work = Endpoints().work
    @Option(help: "Event endpoint observers subscribe to.") var events = Endpoints().events
    @Option(help: "Control endpoint for operators.") var control = Endpoints().control
    @Option(help: "State directory (SQLite state, endpoints.json).") var stateDir = ".drover"
    @Option(help: "Plan files to submit on start (YAML or JSON).") var plan: [String] = []
    @Option(help: "Heartbeat interval in milliseconds.") var heartbeatMs: Int64 = 500
    @Option(help: "Lease time-to-live in milliseconds: a worker silent this long loses its TODOs.") var leaseTtlMs: Int64 = 2000
    @Option(
        name: .customLong("recovery-limit"),
        help:
            "How often a TODO may recover from one kind of trouble before it is escalated, as KIND=N (repeatable; kinds: stopped_early, checks_failed, hung, looping, crashed, transient_error, context_full, asks_human)."
    )
    var recoveryLimits: [String] = []
    @Option(help: "Seconds an inbox item waits for an operator before the policy default answers it (0: wait for ever).")
    var inboxTimeout: Double = 1800
    @Option(
        help:
            "Seconds a usage limit (or a long rate limit) may park a TODO until its reset; a reset further away escalates it, naming the time."
    )
    var maxPark: Double = Double(CoordinatorConfiguration.defaultMaxPark.milliseconds / 1000)
    @Option(help: "What an approval request nobody answered in time gets: approve or deny.")
    var inboxDefaultApproval = "deny"
    @Option(help: "Where the web dashboard and /metrics listen, as HOST:PORT (port 0 picks one; 'none' serves nothing).")
    var http = "127.0.0.1:7180"
    @Option(help: "The audit log of decisions, JSONL rotated at 10 MiB (default: STATE_DIR/audit.jsonl; 'none' keeps none).")
    var auditLog: String?
    @OptionGroup(title: "Keys") var keyOptions: CoordinatorKeyOptions
    @OptionGroup(title: "Secrets") var secrets: RedactionOptions
    @OptionGroup var logging: LoggingOptions

    /// `--recovery-limit` values over the defaults.
    var recoveryPolicy: RecoveryPolicy {
        var policy = RecoveryPolicy()
        for entry in recoveryLimits {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let value = Int(parts[1]) { policy.limits[Detection(rawValue: parts[0])] = value }
        }
        return policy
    }

    @OptionGroup(title: "Advisor") var advisor: AdvisorOptions
    @OptionGroup(title: "Spend") var spend: PriceOptions

    func validate() throws {
        for entry in recoveryLimits {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let value = Int(parts[1]), value >= 0 else {
                throw ValidationError("--recovery-limit \(entry) must be KIND=N with N a whole number, e.g. stopped_early=3")
            }
        }
        guard inboxTimeout >= 0, inboxTimeout.isFinite else {
            throw ValidationError("--inbox-timeout (\(inboxTimeout)) must be a number of seconds, 0 or more (0: wait for ever)")
        }
        guard maxPark >= 0, maxPark.isFinite else {
            throw ValidationError(
                "--max-park (\(maxPark)) must be a number of seconds, 0 or more (0: escalate every usage limit whose reset is still ahead)"
            )
        }
        guard ["approve", "deny"].contains(inboxDefaultApproval) else {
            throw ValidationError("--inbox-default-approval must be approve or deny, not \(inboxDefaultApproval)")
        }
        _ = try httpAddress(http)
        try advisor.check()
        _ = try spend.table
        guard heartbeatMs > 0, leaseTtlMs > heartbeatMs else {
            throw ValidationError("--lease-ttl-ms (\(leaseTtlMs)) must be greater than --heartbeat-ms (\(heartbeatMs)), and both positive")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "drover.coordinator")
        let keys = try keyOptions.keys().map { CoordinatorKeys(keyPair: $0.keyPair, authorizedKeys: $0.authorizedKeys) }
        let plans = try plan.map { try PlanLoader.load(path: $0) }
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let configuration = CoordinatorConfiguration(
            endpoints: Endpoints(work: work, events: events, control: control),
            statePath: "\(stateDir)/state.sqlite",
            heartbeatInterval: .milliseconds(heartbeatMs),
            leaseTTL: .milliseconds(leaseTtlMs),
            recoveryPolicy: recoveryPolicy,
            advisor: advisor.policy,
            prices: try spend.table,
            planCostCap: spend.planCostCap,
            inboxTimeout: inboxTimeout > 0 ? .milliseconds(Int64(inboxTimeout * 1000)) : nil,
            inboxDefault: InboxDefault(approval: Decision(rawValue: inboxDefaultApproval)),
            auditLogPath: auditLog == "none" ? nil : auditLog ?? "\(stateDir)/audit.jsonl",
            maxPark: .milliseconds(Int64(maxPark * 1000)),
            keys: keys,
            insecure: keyOptions.insecure,
            redactor: secrets.redactor
        )
        let application = CoordinatorApplication(
            configuration: configuration,
            stateDirectory: stateDir,
            http: try httpAddress(http),
            plans: plans,
            logger: logger,
            onListening: { bound in
                // Announce the bound endpoints on stdout too: with port 0 ("tcp://127.0.0.1:*") this is how to learn them.
                print("listening work=\(bound.work) events=\(bound.events) control=\(bound.control)")
                flushOutput()
            },
            onDashboard: announceDashboard
        )
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
