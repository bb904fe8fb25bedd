/// Where a TODO is in its life. The one list of states: the coordinator moves TODOs between them
/// (`TodoTable`), and status replies and events carry them by their raw value.
public enum TodoState: String, Codable, Sendable, CaseIterable {
    /// Waiting for dependencies.
    case pending
    /// Dependencies done; waiting for a worker.
    case ready
    /// Sent to a worker under a lease; not yet accepted.
    case assigned
    /// Accepted by the worker and being worked on.
    case running
    /// Parked by a usage limit (or a long rate limit) until its reset time: no worker holds it, and at that time it
    /// is ready again (``StatusBody/TodoStatus/resumeAt``).
    case waiting
    case done
    /// Failed more often than its attempts allow.
    case failed
    /// Will not run because something it depends on failed or was cancelled.
    case skipped
    case cancelled
    /// Its agent stopped because only a human can take it further (budget spent, usage limit, an operator's no).
    case escalated
    /// An operator paused it: its session stopped after a turn (its work checkpointed on its branch), and it waits
    /// for `resume` to be ready again. Not an end: its plan does not finish while it waits.
    case paused

    /// Nothing happens to it any more unless an operator retries it.
    public var isTerminal: Bool { self == .done || self == .failed || self == .skipped || self == .cancelled || self == .escalated }
    /// A worker owns it under a lease.
    public var holdsLease: Bool { self == .assigned || self == .running }
    /// An operator may take it up again.
    public var isRetryable: Bool { self == .failed || self == .escalated || self == .cancelled || self == .skipped }
}

/// Where a plan is: running until every TODO ends, then `done` if all are done, else `failed`.
public enum PlanState: String, Codable, Sendable, CaseIterable {
    case running, done, failed
}
