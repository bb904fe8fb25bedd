public import Shared

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

    public init(
        endpoints: Endpoints = Endpoints(),
        statePath: String = ".drover/state.sqlite",
        heartbeatInterval: Duration = .milliseconds(500),
        leaseTTL: Duration = .seconds(2),
        tick: Duration = .milliseconds(100)
    ) {
        self.endpoints = endpoints
        self.statePath = statePath
        self.heartbeatInterval = heartbeatInterval
        self.leaseTTL = leaseTTL
        self.tick = tick
    }
}
