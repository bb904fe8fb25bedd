import DroverProtocol
public import Prometheus

/// The coordinator's Prometheus metrics (`/metrics`), in a registry of their own: no global metrics system, so
/// several coordinators in one process (tests, benchmarks) keep theirs apart.
///
/// Counters move as things happen: the core reports its counters (``count(_:by:)``) and every committed event
/// (``observe(_:)``); gauges are set from the state every heartbeat (``refresh(todos:jobs:workers:slots:busySlots:inbox:)``). All of it is
/// safe to read from another thread while the core writes.
public final class CoordinatorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private let leaseExpiries: Counter
    private let reassigned: Counter
    private let tokens: Counter
    private let cost: Counter
    private let events: Counter
    private let queueLatency: DurationHistogram
    /// TODO states and worker figures are gauges refreshed from the state; these are the states there are.
    private static let states = TodoState.allCases.map(\.rawValue)

    public init() {
        leaseExpiries = registry.makeCounter(
            descriptor: Self.name("lease_expiries", "total", "Leases that expired: silent or lost workers, unclaimed or unaccepted leases.")
        )
        reassigned = registry.makeCounter(descriptor: Self.name("reassigned", "total", "TODOs taken from a lost worker and queued again."))
        tokens = registry.makeCounter(descriptor: Self.name("tokens", "total", "Model tokens the workers reported."))
        cost = registry.makeCounter(
            descriptor: Self.name("cost_usd", "total", "What those tokens cost, in US dollars, by the coordinator's --price table.")
        )
        events = registry.makeCounter(descriptor: Self.name("events", "total", "Events recorded in the event log."))
        queueLatency = registry.makeDurationHistogram(
            descriptor: Self.name("queue_latency", "seconds", "From a TODO being ready to its assignment to a worker."),
            buckets: [.milliseconds(1), .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(600)]
        )
    }

    /// A counter of the core's (`lease_expired`, `rejected.<code>`, …) moved by `amount`.
    func count(_ name: String, by amount: Int64) {
        switch name {
        case "lease_expired": leaseExpiries.increment(by: amount)
        case "reassigned": reassigned.increment(by: amount)
        case "connections_cut":
            registry.makeCounter(
                descriptor: Self.name("connections_cut", "total", "Connections cut because their key was no longer authorized.")
            ).increment(by: amount)
        default:
            if name.hasPrefix("rejected.") {
                registry.makeCounter(
                    descriptor: Self.name("rejected_messages", "total", "Messages refused with an error reply, by error code."),
                    labels: [("code", String(name.dropFirst("rejected.".count)))]
                ).increment(by: amount)
            }
        }
    }

    /// A handshake the ZAP handler refused: `socket` is its domain, `reason` an ``AuthorizedKeys/Refusal`` label.
    func countAuthRefusal(socket: String, reason: String) {
        registry.makeCounter(
            descriptor: Self.name("auth_refused", "total", "Connections refused in the CURVE handshake, by socket and reason."),
            labels: [("socket", Self.label(socket)), ("reason", reason)]
        ).increment()
    }

    /// An event just committed to the log.
    func observe(_ event: Event) {
        events.increment()
        switch event.type {
        case .agent(.detected):
            let kind = event.data["detection"]?.stringValue ?? "unknown"
            registry.makeCounter(
                descriptor: Self.name("detections", "total", "Troubles sessions detected, by class."),
                labels: [("class", Self.label(kind))]
            ).increment()
        case .policyDecided:
            registry.makeCounter(
                descriptor: Self.name(
                    "recoveries",
                    "total",
                    "Recovery decisions of the supervisor policy, by trouble, decision (recover or escalate) and action."
                ),
                labels: [
                    ("detection", Self.label(event.data["detection"]?.stringValue ?? "unknown")),
                    ("decision", Self.label(event.data["decision"]?.stringValue ?? "unknown")),
                    ("action", Self.label(event.data["action"]?.stringValue ?? "")),
                ]
            ).increment()
        default:
            // A report's tokens and cost, less what its session's `usage` events counted live (`agent.usage`:
            // what each added).
            guard event.type.subject == "todo" || event.type == .agent(.usage) else { break }
            if let used = event.data["tokens"]?.intValue {
                tokens.increment(by: max(0, used - (event.data["live_tokens"]?.intValue ?? 0)))
            }
            if case .double(let dollars)? = event.data["cost_usd"] {
                var live = 0.0
                if case .double(let counted)? = event.data["live_cost_usd"] { live = counted }
                cost.increment(by: max(0, dollars - live))
            }
        }
    }

    /// A TODO went out to a worker `latency` after it became ready.
    func assigned(after latency: Duration) { queueLatency.record(latency) }

    /// Sets the gauges: TODOs and jobs by state, workers and their slots, inbox items.
    func refresh(todos: [String: Int], jobs: [JobState: Int], workers: Int, slots: Int, busySlots: Int, inbox: Int) {
        for state in Self.states {
            registry.makeGauge(descriptor: Self.name("todos", "", "TODOs by state."), labels: [("state", state)]).set(
                to: Double(todos[state] ?? 0)
            )
        }
        for state in JobState.lifecycle + [.failed, .cancelled] {
            registry.makeGauge(descriptor: Self.name("jobs", "", "Jobs by state."), labels: [("state", state.rawValue)]).set(
                to: Double(jobs[state] ?? 0)
            )
        }
        registry.makeGauge(descriptor: Self.name("workers", "", "Workers connected.")).set(to: Double(workers))
        registry.makeGauge(descriptor: Self.name("worker_slots", "", "Slots of the connected workers.")).set(to: Double(slots))
        registry.makeGauge(descriptor: Self.name("worker_slots_busy", "", "Slots holding a lease.")).set(to: Double(busySlots))
        registry.makeGauge(descriptor: Self.name("inbox_items", "", "Items waiting for a human.")).set(to: Double(inbox))
    }

    /// The text exposition format.
    public func exposition() -> String { registry.emitToString() }

    /// `drover_<metric>_<unit>`, with its help text.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "drover", metricName: metric, unitName: unit, helpText: help)
    }

    /// A label value kept short and printable: labels come from workers, and each value is a time series.
    private static func label(_ value: String) -> String {
        String(value.prefix(80).map { $0.isLetter || $0.isNumber || " _-.,:/".contains($0) ? $0 : "_" })
    }
}
