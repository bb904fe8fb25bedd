/// `review` on the control socket: the coordinator's reading of how the work goes. The reply is `review` with a
/// ``ReviewBody``.
public struct ReviewRequest: WireBody, Equatable {
    /// Only this plan; every plan when `nil`.
    public var plan: String?

    public init(plan: String? = nil) { self.plan = plan }

    public func validate() throws(ProtocolError) {
        if let plan { try requireID(plan, "plan") }
    }
}

/// Progress, velocity, an ETA, bottlenecks, risks and ranked next steps (`drover review`, the dashboard).
///
/// Durations are in seconds and times in wall-clock milliseconds since 1970. Every finding carries its reason, in
/// words, so a person can check it.
public struct ReviewBody: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", progress, plans, branches, velocity, eta, etaNote = "eta_note", bottlenecks, risks,
            nextSteps = "next_steps", narrative, jobs
    }

    /// How many TODOs are where.
    public struct Progress: Codable, Sendable, Equatable {
        public var total: Int
        public var done: Int
        public var running: Int
        /// Ready or pending.
        public var queued: Int
        /// Failed, escalated, cancelled or skipped: will not finish without an operator.
        public var stopped: Int
        /// TODOs with an inbox item waiting for a human.
        public var waitingOnHuman: Int

        enum CodingKeys: String, CodingKey { case total, done, running, queued, stopped, waitingOnHuman = "waiting_on_human" }

        public init(total: Int = 0, done: Int = 0, running: Int = 0, queued: Int = 0, stopped: Int = 0, waitingOnHuman: Int = 0) {
            self.total = total
            self.done = done
            self.running = running
            self.queued = queued
            self.stopped = stopped
            self.waitingOnHuman = waitingOnHuman
        }

        /// Done out of all, 0 to 100.
        public var percent: Double { total == 0 ? 100 : Double(done) * 100 / Double(total) }
    }

    public struct PlanProgress: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey { case plan, title, state, progress, tokens, costUSD = "cost_usd" }

        public var plan: String
        public var title: String
        /// A ``PlanState``, or `paused`.
        public var state: String
        public var progress: Progress
        /// Model tokens of its TODOs so far (nil before any), and what they cost by the coordinator's price table
        /// (nil when no price is known).
        public var tokens: Int64?
        public var costUSD: Double?

        public init(plan: String, title: String, state: String, progress: Progress) {
            self.plan = plan
            self.title = title
            self.state = state
            self.progress = progress
        }
    }

    /// One TODO's branch: where its work stands.
    public struct BranchProgress: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey { case todo, branch, state, files, seconds }
        /// `plan/todo`.
        public var todo: String
        public var branch: String
        public var state: TodoState
        /// Files the branch changed, as its last report said.
        public var files: Int
        /// How long it has been running, or how long its finishing run took.
        public var seconds: Double?

        public init(todo: String, branch: String, state: TodoState, files: Int, seconds: Double?) {
            self.todo = todo
            self.branch = branch
            self.state = state
            self.files = files
            self.seconds = seconds
        }
    }

    public struct Velocity: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey { case finished, windowSeconds = "window_seconds", perHour = "per_hour" }
        /// TODOs done within the window.
        public var finished: Int
        /// The last hour, or less when the work began less than an hour ago.
        public var windowSeconds: Double
        public var perHour: Double

        public init(finished: Int, windowSeconds: Double, perHour: Double) {
            self.finished = finished
            self.windowSeconds = windowSeconds
            self.perHour = perHour
        }
    }

    /// When the remaining work should be done: the longer of the remaining critical path and the remaining work
    /// spread over the worker slots, with each TODO taking the P50 (or P90) of the finished TODOs' durations (less
    /// what a running TODO has already spent).
    public struct Estimate: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case p50Seconds = "p50_seconds", p90Seconds = "p90_seconds", p50At = "p50_at", p90At = "p90_at", criticalPath = "critical_path",
                criticalPathSeconds = "critical_path_seconds", capacitySeconds = "capacity_seconds", bound, remaining, samples,
                sampleP50 = "sample_p50_seconds", sampleP90 = "sample_p90_seconds", slots
        }
        public var p50Seconds: Double
        public var p90Seconds: Double
        /// Wall-clock milliseconds of the P50 and P90 finish.
        public var p50At: Int64
        public var p90At: Int64
        /// The remaining critical path at P50, first TODO first (`plan/todo`).
        public var criticalPath: [String]
        /// Its length at P50.
        public var criticalPathSeconds: Double
        /// The remaining work at P50 over the worker slots.
        public var capacitySeconds: Double?
        /// `critical_path` or `capacity`: which of the two sets the P50.
        public var bound: String
        /// TODOs not finished yet.
        public var remaining: Int
        /// Finished TODOs whose durations the estimate is taken from, and their P50 and P90.
        public var samples: Int
        public var sampleP50: Double
        public var sampleP90: Double
        /// Worker slots the capacity bound assumes.
        public var slots: Int

        public init(
            p50Seconds: Double,
            p90Seconds: Double,
            p50At: Int64,
            p90At: Int64,
            criticalPath: [String],
            criticalPathSeconds: Double,
            capacitySeconds: Double?,
            bound: String,
            remaining: Int,
            samples: Int,
            sampleP50: Double,
            sampleP90: Double,
            slots: Int
        ) {
            self.p50Seconds = p50Seconds
            self.p90Seconds = p90Seconds
            self.p50At = p50At
            self.p90At = p90At
            self.criticalPath = criticalPath
            self.criticalPathSeconds = criticalPathSeconds
            self.capacitySeconds = capacitySeconds
            self.bound = bound
            self.remaining = remaining
            self.samples = samples
            self.sampleP50 = sampleP50
            self.sampleP90 = sampleP90
            self.slots = slots
        }
    }

    /// A bottleneck: `blocking` (holds up the most downstream work), `long_running`, `most_repaired` or
    /// `idle_while_waiting` (worker slots free while work waits on a human).
    public struct Finding: Codable, Sendable, Equatable {
        public var kind: String
        /// `plan/todo`, when it is about one TODO.
        public var todo: String?
        /// The figure it is ranked by: TODOs blocked, seconds running, repairs, idle slots.
        public var value: Double
        public var reason: String

        public init(kind: String, todo: String?, value: Double, reason: String) {
            self.kind = kind
            self.todo = todo
            self.value = value
            self.reason = reason
        }
    }

    /// Branches that change the same files, and will conflict when merged.
    public struct Risk: Codable, Sendable, Equatable {
        public var branches: [String]
        public var files: [String]
        public var reason: String

        public init(branches: [String], files: [String], reason: String) {
            self.branches = branches
            self.files = files
            self.reason = reason
        }
    }

    public struct NextStep: Codable, Sendable, Equatable {
        public var rank: Int
        public var action: String
        /// The command that does it, when there is one.
        public var command: String?
        public var reason: String

        public init(rank: Int, action: String, command: String?, reason: String) {
            self.rank = rank
            self.action = action
            self.command = command
            self.reason = reason
        }
    }

    /// Prose from a Codex reviewer session (`drover review --ai`): an opinion, not a measurement.
    public struct Narrative: Codable, Sendable, Equatable {
        public var source: String
        public var model: String
        public var summary: String
        public var concerns: [String]
        public var suggestions: [String]

        public init(source: String, model: String, summary: String, concerns: [String], suggestions: [String]) {
            self.source = source
            self.model = model
            self.summary = summary
            self.concerns = concerns
            self.suggestions = suggestions
        }
    }

    public var generatedAt: Int64
    public var progress: Progress
    public var plans: [PlanProgress]
    public var branches: [BranchProgress]
    public var velocity: Velocity
    /// `nil` when there is nothing to estimate from, or nothing left; ``etaNote`` says which.
    public var eta: Estimate?
    public var etaNote: String?
    public var bottlenecks: [Finding]
    public var risks: [Risk]
    public var nextSteps: [NextStep]
    public var narrative: Narrative?
    /// Each job's spend over all its plans (`plan` is the job's id); nil when there are no jobs.
    public var jobs: [PlanSpend]?

    public init(
        generatedAt: Int64,
        progress: Progress,
        plans: [PlanProgress],
        branches: [BranchProgress],
        velocity: Velocity,
        eta: Estimate?,
        etaNote: String?,
        bottlenecks: [Finding],
        risks: [Risk],
        nextSteps: [NextStep],
        narrative: Narrative? = nil
    ) {
        self.generatedAt = generatedAt
        self.progress = progress
        self.plans = plans
        self.branches = branches
        self.velocity = velocity
        self.eta = eta
        self.etaNote = etaNote
        self.bottlenecks = bottlenecks
        self.risks = risks
        self.nextSteps = nextSteps
        self.narrative = narrative
    }
}

extension ReviewBody: WireBody {
    public static var maxBytes: Int { WireLimits.documentBytes }

    public func validate() throws(ProtocolError) {}
}
