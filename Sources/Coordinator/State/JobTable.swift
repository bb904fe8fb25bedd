import DroverProtocol

/// A job and everything its steps produced. Persisted whole, as JSON, in `jobs.record`.
struct JobRecord: Codable, Sendable, Equatable {
    var id: String
    var goal: String
    var repository: String
    var base: String?
    fileprivate(set) var state: JobState
    fileprivate(set) var reason: String
    var createdAt: Int64
    fileprivate(set) var updatedAt: Int64
    fileprivate(set) var transitions: [JobTransition] = []
    /// The order jobs were created in.
    var order: Int
    var classification: Classification?
    var context: String?
    /// The plan the planner wrote (as the job's plan: id, repository, base and context set).
    var plan: Plan?
    /// The grants the plan needs, and what was decided about them.
    var grants: [PermissionGrant]?
    var permissions: PermissionDecision?
    var answer: String?
    /// The plan running the current step, while one runs.
    var stepPlan: String?
    /// How many times each step was started (a new plan after a refused grant is the plan step's second run).
    var stepRuns: [String: Int] = [:]
    /// The inbox item asking for the permissions, while it waits.
    var inboxItem: String?
    /// Grants the operator refused and wants a plan without (for the planner's next run).
    var avoid: [String] = []
    /// TODOs of the plan skipped by the permission decision, and those that depend on them: they are left out of
    /// the plan that runs, and the job is done without them.
    var skippedByPermissions: [String] = []

    /// A new job; ``JobTable/add(_:reason:)`` gives it its first state.
    init(id: String, goal: String, repository: String, base: String?, createdAt: Int64) {
        self.id = id
        self.goal = goal
        self.repository = repository
        self.base = base
        self.state = .classify
        self.reason = ""
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.order = 0
    }

    /// The view operators get; `full` adds the history and artifacts.
    func view(full: Bool, counts: [String: Int]?) -> JobView {
        var view = JobView(
            id: id,
            goal: goal,
            repository: repository,
            base: base,
            state: state,
            reason: reason,
            createdAt: createdAt,
            updatedAt: updatedAt,
            transitions: full ? transitions : []
        )
        view.step = stepPlan
        view.counts = counts
        view.inboxItem = inboxItem
        view.answer = answer
        if full {
            view.classification = classification
            view.context = context
            view.plan = plan
            view.grants = grants
            view.permissions = permissions
            view.skipped = skippedByPermissions.isEmpty ? nil : skippedByPermissions
        }
        return view
    }
}

/// Every job the coordinator knows, and the one place their states change.
///
/// ``move(_:to:reason:evidence:at:)`` is the only way a job changes state: it checks the move against
/// ``allowed`` and appends the transition to the job's history. Records' state fields are private to this file.
struct JobTable {
    private(set) var jobs: [String: JobRecord] = [:]
    private var changed: Set<String> = []
    /// The job of each step plan that runs, by plan id.
    private var stepPlans: [String: String] = [:]
    /// Step answers that arrived with their reports, until their plan ends in the same batch. Not persisted.
    var answers: [String: String] = [:]

    subscript(id: String) -> JobRecord? { jobs[id] }

    var hasChanges: Bool { !changed.isEmpty }

    /// The jobs, oldest first.
    var all: [JobRecord] { jobs.values.sorted { $0.order < $1.order } }

    /// Which state may follow which. Any unfinished job may also fail or be cancelled.
    static let allowed: [JobState: Set<JobState>] = [
        .classify: [.investigate, .plan, .done],
        .investigate: [.plan],
        .plan: [.permissionNegotiate, .execute],
        .permissionNegotiate: [.execute, .plan],
        .execute: [.finalize],
        .finalize: [.done, .execute],
    ]

    /// Whether a job may move from `from` to `to`.
    static func mayMove(from: JobState, to: JobState) -> Bool {
        guard !from.isTerminal else { return false }
        return to == .failed || to == .cancelled || (allowed[from]?.contains(to) ?? false)
    }

    /// A job whose plan failed goes back to `execute` when an operator takes one of its TODOs up again (`drover todo
    /// retry`): the only way out of an end state. Returns the transition, or nil when the job did not fail executing
    /// or finalizing.
    @discardableResult
    mutating func reopen(_ id: String, reason: String, at now: Int64) -> JobTransition? {
        guard var job = jobs[id], job.state == .failed, job.transitions.last?.from?.isRunningPlan == true else { return nil }
        let transition = JobTransition(from: .failed, to: .execute, reason: reason, at: now)
        job.state = .execute
        job.reason = reason
        job.updatedAt = now
        job.transitions.append(transition)
        jobs[id] = job
        changed.insert(id)
        return transition
    }

    /// Adds a new job in its first state.
    mutating func add(_ job: JobRecord, reason: String) {
        var job = job
        job.order = jobs.count
        job.state = .classify
        job.reason = reason
        job.updatedAt = job.createdAt
        job.transitions = [JobTransition(from: nil, to: .classify, reason: reason, at: job.createdAt)]
        jobs[job.id] = job
        changed.insert(job.id)
    }

    /// Puts back a job as the state file had it.
    mutating func restore(_ job: JobRecord) {
        jobs[job.id] = job
        if let plan = job.stepPlan { stepPlans[plan] = job.id }
    }

    /// Moves a job to `state`; returns the transition, or nil when the move is not allowed (the job moved on).
    @discardableResult
    mutating func move(_ id: String, to state: JobState, reason: String, evidence: [String: JSONValue] = [:], at now: Int64)
        -> JobTransition?
    {
        guard var job = jobs[id], Self.mayMove(from: job.state, to: state) else { return nil }
        let transition = JobTransition(from: job.state, to: state, reason: reason, evidence: evidence, at: now)
        job.state = state
        job.reason = reason
        job.updatedAt = now
        job.transitions.append(transition)
        if state.isTerminal {
            if let plan = job.stepPlan { stepPlans[plan] = nil }
            job.stepPlan = nil
            job.inboxItem = nil
        }
        jobs[id] = job
        changed.insert(id)
        return transition
    }

    /// Changes a job's artifacts and bookkeeping (not its state).
    mutating func update(_ id: String, _ body: (inout JobRecord) -> Void) {
        guard var job = jobs[id] else { return }
        let plan = job.stepPlan
        body(&job)
        if job.stepPlan != plan {
            if let plan { stepPlans[plan] = nil }
            if let new = job.stepPlan { stepPlans[new] = id }
        }
        jobs[id] = job
        changed.insert(id)
    }

    /// Says why a job waits where it is, without moving it (a step escalated to an operator).
    mutating func explain(_ id: String, _ reason: String, at now: Int64) {
        update(id) {
            $0.reason = reason
            $0.updatedAt = now
        }
    }

    /// The job whose current step runs as `plan`, and the step.
    func step(runningAs plan: String) -> (job: JobRecord, step: JobStep)? {
        guard let id = stepPlans[plan], let job = jobs[id], let step = job.state.step else { return nil }
        return (job, step)
    }

    /// The records changed since the last call, for the store.
    mutating func takeChanges(into changes: inout Store.Changes) {
        changes.jobs = changed.compactMap { jobs[$0] }
        changed.removeAll(keepingCapacity: true)
    }
}
