/// What an ``Event`` says happened: `subject.verb`. The subject (before the first dot) picks the topic.
///
/// Every type the coordinator records is named here, so a reader can find each and what causes it; observers
/// must still accept types they do not know (the set grows).
public struct EventType: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The part before the first dot: `todo`, `agent`, `worker`, `plan`, `job`, `inbox`, `policy`, `lease`, `coordinator`.
    public var subject: Substring { rawValue.split(separator: ".", maxSplits: 1).first ?? Substring(rawValue) }

    // MARK: The coordinator

    public static let coordinatorStarted = EventType(rawValue: "coordinator.started")

    // MARK: Plans

    public static let planSubmitted = EventType(rawValue: "plan.submitted")
    public static let planDone = EventType(rawValue: "plan.done")
    public static let planFailed = EventType(rawValue: "plan.failed")
    public static let planPaused = EventType(rawValue: "plan.paused")
    public static let planResumed = EventType(rawValue: "plan.resumed")
    /// A plan reached its cost cap (`spent`, `cap`): it is paused, and the operators are asked (kind `budget`).
    public static let planCostCapReached = EventType(rawValue: "plan.cost_cap_reached")
    /// An operator raised a plan's cost cap (`cap`); the plan goes on.
    public static let planCostCapRaised = EventType(rawValue: "plan.cost_cap_raised")
    public static let planCancelRequested = EventType(rawValue: "plan.cancel_requested")
    /// The plan and its merges have ended, and its report is made (`state`, `done`, `todos`, `merged`, `head`).
    public static let planFinalized = EventType(rawValue: "plan.finalized")
    /// A finished plan's AI review was asked for, and its reviewer's TODO added (`reviewer`: `<plan>-next/<todo>`).
    public static let planReviewRequested = EventType(rawValue: "plan.review_requested")
    /// A plan's AI review ended, and its report says what it came to (`state`: `done` or `failed`, `reviewer` (the
    /// reviewer's plan and TODO), `model`?, `tests`, `deployment`, `follow_up` (counts)?, `note`? (why it failed)).
    public static let planReviewed = EventType(rawValue: "plan.reviewed")

    // MARK: Jobs (`plan` is the job's id)

    /// A job was started from a goal.
    public static let jobCreated = EventType(rawValue: "job.created")
    /// A job moved from one state to another (`from`, `to`, `reason`, `evidence`).
    public static let jobTransition = EventType(rawValue: "job.transition")
    /// A step's answer was accepted (`step`, and a summary of the answer).
    public static let jobArtifact = EventType(rawValue: "job.artifact")
    /// A job asks the operator for its plan's permissions (`item`, `grants`).
    public static let jobPermissionsAsked = EventType(rawValue: "job.permissions_asked")
    /// The permissions were decided (`granted`, `refused`, `decided_by`).
    public static let jobPermissionsDecided = EventType(rawValue: "job.permissions_decided")

    // MARK: Merges (`plan` is the plan whose TODO is merged, `todo` the TODO)

    /// A TODO's branch was merged into its plan's integration branch and the integration checks passed (`head`,
    /// `tag`).
    public static let mergeMerged = EventType(rawValue: "merge.merged")
    /// A merge did not go in (`outcome`: `conflict`, `checks_failed` or `moved`; `conflicts`, `detail`).
    public static let mergeRefused = EventType(rawValue: "merge.refused")
    /// An operator left a TODO's work out of the integration branch (`reason`).
    public static let mergeSkipped = EventType(rawValue: "merge.skipped")
    /// An operator queued a step that merges the plan's base, which moved, into the integration branch.
    public static let mergeRebaseQueued = EventType(rawValue: "merge.rebase_queued")
    /// An operator moved the integration branch back to a tag (`tag`, `head`, `undone`, `reason`, `by`).
    public static let mergeRolledBack = EventType(rawValue: "merge.rolled_back")

    // MARK: TODOs

    public static let todoReady = EventType(rawValue: "todo.ready")
    public static let todoAssigned = EventType(rawValue: "todo.assigned")
    public static let todoRunning = EventType(rawValue: "todo.running")
    public static let todoDone = EventType(rawValue: "todo.done")
    public static let todoFailed = EventType(rawValue: "todo.failed")
    public static let todoEscalated = EventType(rawValue: "todo.escalated")
    public static let todoCancelled = EventType(rawValue: "todo.cancelled")
    public static let todoSkipped = EventType(rawValue: "todo.skipped")
    /// A failed run that will be tried again (attempts left).
    public static let todoRetry = EventType(rawValue: "todo.retry")
    /// An operator took a finished TODO up again.
    public static let todoRetried = EventType(rawValue: "todo.retried")
    public static let todoHandedBack = EventType(rawValue: "todo.handed_back")
    public static let todoRequeued = EventType(rawValue: "todo.requeued")
    /// A usage limit (or a long rate limit) parked the TODO until its reset (`resume_at`, epoch ms; `evidence`): its
    /// slot is free, it is `waiting`, not a failed attempt.
    public static let todoParked = EventType(rawValue: "todo.parked")
    /// A parked TODO's reset time came, or an operator resumed a paused one: it is ready again, at the front of the
    /// queue.
    public static let todoResumed = EventType(rawValue: "todo.resumed")
    public static let todoCancelRequested = EventType(rawValue: "todo.cancel_requested")
    /// An operator's guidance was sent to the worker running the TODO (`text`, `by`, `worker`).
    public static let todoSteered = EventType(rawValue: "todo.steered")
    /// An operator asked a running TODO to stop after its turn (`by`); `todo.paused` follows when it has.
    public static let todoPauseRequested = EventType(rawValue: "todo.pause_requested")
    /// The TODO waits, paused by an operator; its slot is free.
    public static let todoPaused = EventType(rawValue: "todo.paused")
    /// A TODO reached its cost cap (`spent`, `cap`, `model`): it is paused after its turn, and the operators are asked
    /// (kind `budget`, item `<plan>-<todo>-cost`).
    public static let todoCostCapReached = EventType(rawValue: "todo.cost_cap_reached")
    /// An operator raised a TODO's cost cap (`cap`, `spent`); it goes on.
    public static let todoCostCapRaised = EventType(rawValue: "todo.cost_cap_raised")
    /// A ready TODO waits: it may touch the files of a running one (`with`, `files`).
    public static let todoHeld = EventType(rawValue: "todo.held")
    /// A TODO runs beside one that may touch the same files (`with`, `files`): the plan's `schedule.overlap` is `warn`.
    public static let todoOverlaps = EventType(rawValue: "todo.overlaps")
    /// The rules ran out for a TODO: an advisor (a read-only codex session, `advisor`) is asked what it should do next.
    public static let todoAdviceRequested = EventType(rawValue: "todo.advice_requested")
    /// The advisor answered (`diagnosis`, `next_instruction`, `needs_human`, `question_for_human`, `reason`), or could
    /// not (`failed`).
    public static let todoAdvised = EventType(rawValue: "todo.advised")

    /// The event a TODO reaching `state` records (`todo.done`, `todo.failed`…).
    public static func todo(_ state: TodoState) -> EventType { EventType(rawValue: "todo.\(state.rawValue)") }

    // MARK: Workers and leases

    public static let workerJoined = EventType(rawValue: "worker.joined")
    public static let workerRejoined = EventType(rawValue: "worker.rejoined")
    public static let workerLost = EventType(rawValue: "worker.lost")
    public static let workerLeft = EventType(rawValue: "worker.left")
    public static let workerDraining = EventType(rawValue: "worker.draining")
    /// A message under a lease that is not the sender's any more was refused (fencing).
    public static let leaseRefused = EventType(rawValue: "lease.refused")

    // MARK: The inbox and the policy

    public static let inboxAdded = EventType(rawValue: "inbox.added")
    public static let inboxAnswered = EventType(rawValue: "inbox.answered")
    public static let inboxExpired = EventType(rawValue: "inbox.expired")
    public static let inboxDropped = EventType(rawValue: "inbox.dropped")
    public static let policyDecided = EventType(rawValue: "policy.decided")
    /// An operator forgot a remembered permission decision (`repository`, `grant`).
    public static let policyForgotten = EventType(rawValue: "policy.forgotten")

    // MARK: Agents

    /// Agent activity relayed from a worker: `agent.<kind>`.
    public static func agent(_ kind: AgentEventKind) -> EventType { EventType(rawValue: "agent.\(kind.rawValue)") }
}
