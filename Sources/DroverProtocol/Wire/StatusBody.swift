/// The reply to a `status` request on the control socket: plans, TODOs, workers and counters.
public struct StatusBody: Codable, Sendable, Equatable {
    public struct PlanStatus: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case id, title, state, counts, submittedAt = "submitted_at", finishedAt = "finished_at", paused, tokens,
                costUSD = "cost_usd"
        }

        public var id: String
        public var title: String
        public var state: PlanState
        /// TODO count by state.
        public var counts: [String: Int]
        public var submittedAt: Int64
        public var finishedAt: Int64?
        /// True while an operator has paused it: no new TODO of it starts.
        public var paused: Bool?
        /// Model tokens its TODOs used so far.
        public var tokens: Int64?
        /// What they cost, in US dollars, by the coordinator's price table (nil: no price known).
        public var costUSD: Double?

        public init(
            id: String,
            title: String,
            state: PlanState,
            counts: [String: Int],
            submittedAt: Int64,
            finishedAt: Int64?,
            paused: Bool? = nil,
            tokens: Int64? = nil,
            costUSD: Double? = nil
        ) {
            self.tokens = tokens
            self.costUSD = costUSD
            self.paused = paused
            self.id = id
            self.title = title
            self.state = state
            self.counts = counts
            self.submittedAt = submittedAt
            self.finishedAt = finishedAt
        }
    }

    public struct TodoStatus: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case plan, id, title, state, epoch, worker, attempts, detail, dependsOn = "depends_on", resumeAt = "resume_at", tokens,
                costUSD = "cost_usd", costCap = "cost_cap"
        }

        public var plan: String
        public var id: String
        public var title: String
        public var state: TodoState
        public var epoch: Int64
        public var worker: String?
        public var attempts: Int
        public var detail: String?
        /// The TODOs of the same plan it waits for (for drawing the plan's graph).
        public var dependsOn: [String]?
        /// For a `waiting` TODO (parked by a usage limit): when it resumes, epoch milliseconds.
        public var resumeAt: Int64?
        /// Model tokens it used so far, over all its runs (live while it runs); nil before any.
        public var tokens: Int64?
        /// What they cost, in US dollars, by the coordinator's price table (nil: no price known).
        public var costUSD: Double?
        /// Its cost cap in dollars (`budget.cost`, or as an operator raised it); nil: none.
        public var costCap: Double?

        public init(
            plan: String,
            id: String,
            title: String,
            state: TodoState,
            epoch: Int64,
            worker: String?,
            attempts: Int,
            detail: String?,
            dependsOn: [String]? = nil,
            resumeAt: Int64? = nil
        ) {
            self.dependsOn = dependsOn
            self.resumeAt = resumeAt
            self.plan = plan
            self.id = id
            self.title = title
            self.state = state
            self.epoch = epoch
            self.worker = worker
            self.attempts = attempts
            self.detail = detail
        }
    }

    public struct WorkerStatus: Codable, Sendable, Equatable {

        enum CodingKeys: String, CodingKey {

            case id, host, slots, labels, running, draining, lastSeenMsAgo = "last_seen_ms_ago"

        }

        public var id: String
        public var host: String
        public var slots: Int
        public var labels: [String]
        public var running: [String]
        public var draining: Bool
        public var lastSeenMsAgo: Int64

        public init(
            id: String,
            host: String,
            slots: Int,
            labels: [String],
            running: [String],
            draining: Bool,
            lastSeenMsAgo: Int64
        ) {
            self.id = id
            self.host = host
            self.slots = slots
            self.labels = labels
            self.running = running
            self.draining = draining
            self.lastSeenMsAgo = lastSeenMsAgo
        }
    }

    /// The coordinator process's instance id.
    public var instance: String
    /// The sequence number of the last event recorded.
    public var seq: Int64
    public var plans: [PlanStatus]
    public var todos: [TodoStatus]
    public var workers: [WorkerStatus]
    /// Counters since this coordinator process started: `rejected.<code>`, `lease_expired`, `reassigned`…
    public var counters: [String: Int64]

    public init(
        instance: String,
        seq: Int64,
        plans: [PlanStatus],
        todos: [TodoStatus],
        workers: [WorkerStatus],
        counters: [String: Int64]
    ) {
        self.instance = instance
        self.seq = seq
        self.plans = plans
        self.todos = todos
        self.workers = workers
        self.counters = counters
    }
}

extension StatusBody: WireBody {
    public static var maxBytes: Int { WireLimits.documentBytes }

    public func validate() throws(ProtocolError) {}
}

/// The reply to `submit`: the id the plan runs under.
public struct SubmittedBody: WireBody, Equatable {
    public var plan: String
    /// False when an identical plan with that id was already there (a retried submit).
    public var created: Bool

    public init(plan: String, created: Bool) {
        self.plan = plan
        self.created = created
    }

    public func validate() throws(ProtocolError) { try requireID(plan, "plan") }
}
