public import DroverProtocol
public import DroverTransport
import Foundation

/// How a coordinator runs. Every field has a default that suits one machine.
public struct CoordinatorConfiguration: Sendable {
    public var endpoints: Endpoints
    /// The SQLite file holding all state (WAL mode). `":memory:"` keeps nothing across restarts (tests, benchmarks).
    public var statePath: String
    /// How often the coordinator and workers send heartbeats.
    public var heartbeatInterval: Duration
    /// A lease lives while heartbeats arrive; after this much silence it expires and its TODO is requeued.
    public var leaseTTL: Duration
    /// How often leases are checked and work is scheduled when no message arrives.
    public var tick: Duration
    /// How many times a TODO may recover from each kind of trouble across all its sessions, on any worker, before
    /// it is escalated.
    public var recoveryPolicy: RecoveryPolicy
    /// When a stuck TODO's recovery goes to an advisor first.
    public var advisor: AdvisorPolicy
    /// What model tokens cost, for the cost of each TODO and plan.
    public var prices: PriceTable
    /// A plan that has spent this many dollars is paused, and the operators are asked to raise the cap or stop it
    /// (`--plan-cost-cap`); nil: no cap.
    public var planCostCap: Double?
    /// How long an inbox item waits for a human before ``inboxDefault`` answers it; `nil` waits for ever.
    public var inboxTimeout: Duration?
    /// What answers an inbox item nobody answered in time.
    public var inboxDefault: InboxDefault
    /// The audit log (JSONL, rotated by size); `nil` keeps none.
    public var auditLogPath: String?
    /// The size at which the audit log is rotated; five old files are kept.
    public var auditLogMaxBytes: Int
    /// How long a TODO may be parked by a usage limit (or a long rate limit) until its reset; a reset further away
    /// escalates it, naming the time (`--max-park`).
    public var maxPark: Duration
    /// CURVE keys: when set, every socket is a CURVE server admitting only the authorized keys, by role; nil admits
    /// anyone who can connect (`docs/security.md`).
    public var keys: CoordinatorKeys?
    /// Binds a non-loopback tcp address without keys anyway (`--insecure`); refused otherwise.
    public var insecure: Bool
    /// What takes secrets out of every message a worker sends, before it is read, stored, logged or published (a
    /// worker takes them out first; this catches what it did not know).
    public var redactor: Redactor

    /// Six hours: a usage limit's window, so a limit hit in it is waited for, a weekly one is not.
    public static let defaultMaxPark = Duration.seconds(6 * 3600)

    public init(
        endpoints: Endpoints = Endpoints(),
        statePath: String = ".drover/state.sqlite",
        heartbeatInterval: Duration = .milliseconds(500),
        leaseTTL: Duration = .seconds(2),
        tick: Duration = .milliseconds(100),
        recoveryPolicy: RecoveryPolicy = RecoveryPolicy(),
        advisor: AdvisorPolicy = AdvisorPolicy(),
        prices: PriceTable = PriceTable(),
        planCostCap: Double? = nil,
        inboxTimeout: Duration? = .seconds(1800),
        inboxDefault: InboxDefault = InboxDefault(),
        auditLogPath: String? = nil,
        auditLogMaxBytes: Int = 10 << 20,
        maxPark: Duration = CoordinatorConfiguration.defaultMaxPark,
        keys: CoordinatorKeys? = nil,
        insecure: Bool = false,
        redactor: Redactor = Redactor(knownSecrets: Redactor.secrets(in: ProcessInfo.processInfo.environment))
    ) {
        self.redactor = redactor
        self.maxPark = maxPark
        self.keys = keys
        self.insecure = insecure
        self.auditLogPath = auditLogPath
        self.auditLogMaxBytes = auditLogMaxBytes
        self.inboxTimeout = inboxTimeout
        self.inboxDefault = inboxDefault
        self.recoveryPolicy = recoveryPolicy
        self.advisor = advisor
        self.prices = prices
        self.planCostCap = planCostCap
        self.endpoints = endpoints
        self.statePath = statePath
        self.heartbeatInterval = heartbeatInterval
        self.leaseTTL = leaseTTL
        self.tick = tick
    }
}

/// A coordinator's CURVE keys: its own pair, and the directory of the public keys it admits.
public struct CoordinatorKeys: Sendable, Equatable {
    public var keyPair: KeyPair
    /// Holds `workers/`, `operators/` and `observers/`, each with public certificates (``AuthorizedKeys``).
    public var authorizedKeys: String

    public init(keyPair: KeyPair, authorizedKeys: String) {
        self.keyPair = keyPair
        self.authorizedKeys = authorizedKeys
    }
}

extension CoordinatorConfiguration {
    /// How the coordinator's own clients (its dashboard, the plans it submits at start) connect to it: with its own
    /// key pair, which its key ring admits as ``Role/coordinator``.
    public var ownClientSecurity: SocketSecurity {
        keys.map { .curveClient($0.keyPair, server: $0.keyPair.publicKey) } ?? .none
    }
}

/// The policy's answer to an inbox item that timed out.
public struct InboxDefault: Sendable, Equatable {
    /// `approve` or `deny`: what an approval request nobody answered gets. Denying is the safe default.
    public var approval: Decision
    /// The reply a question nobody answered gets.
    public var reply: String

    public init(
        approval: Decision = .deny,
        reply: String =
            "No operator answered in time. Go on with your best judgement: choose the safest option that completes the task, "
            + "and say in your final message what you assumed."
    ) {
        self.approval = approval
        self.reply = reply
    }
}
