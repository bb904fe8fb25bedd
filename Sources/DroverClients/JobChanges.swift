import DroverProtocol

/// What changed in a job since a follower last saw it: the transitions it has not shown yet, a permissions item it
/// has not handled yet, whether the job's plan runs, and whether the job ended. `drover run --goal` asks the
/// coordinator for the job whenever an event about it arrives, and acts on what this says changed.
public struct JobChanges: Sendable {
    /// One thing to show or do.
    public enum Change: Sendable, Equatable {
        /// A transition not shown before, in the order they happened.
        case transition(JobTransition)
        /// The job waits for the operator's answer to this permissions item (once per item).
        case permissionsAsked(item: String)
        /// The job's plan runs, or ran: its progress is worth showing.
        case planProgress
        /// The job is over, in this state.
        case ended(JobState)
    }

    private var shown = 0
    private var handled: Set<String> = []

    public init() {}

    /// What is new in `job`, in the order to act on it.
    public mutating func update(_ job: JobView) -> [Change] {
        var changes: [Change] = job.transitions.dropFirst(shown).map { .transition($0) }
        shown = max(shown, job.transitions.count)
        if let item = job.inboxItem, !job.state.isTerminal, handled.insert(item).inserted {
            changes.append(.permissionsAsked(item: item))
        }
        if job.state.isRunningPlan || job.counts != nil { changes.append(.planProgress) }
        if job.state.isTerminal { changes.append(.ended(job.state)) }
        return changes
    }
}
