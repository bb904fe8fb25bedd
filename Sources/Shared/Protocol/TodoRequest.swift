/// `todo` on the control socket: look at one TODO, take it up again, or cancel it. The reply is `todo` with a
/// ``TodoReply``, or an `error` saying why the action is not possible.
public struct TodoRequest: WireBody, Equatable {
    public var plan: String
    public var todo: String
    /// `show`, `retry` (a failed, escalated, cancelled or skipped TODO goes back to the queue, with fresh attempts and
    /// recovery counts, and what was skipped because of it is pending again) or `cancel`.
    public var action: String

    public init(plan: String, todo: String, action: String) {
        self.plan = plan
        self.todo = todo
        self.action = action
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try requireID(todo, "todo")
        try require(["show", "retry", "cancel"].contains(action), "action", "must be show, retry or cancel")
    }
}

/// The reply to `todo`: its status now and its latest events.
public struct TodoReply: WireBody, Equatable {
    public var todo: StatusBody.TodoStatus
    public var events: [Event]

    public init(todo: StatusBody.TodoStatus, events: [Event]) {
        self.todo = todo
        self.events = events
    }

    public func validate() throws(ProtocolError) {}
}

/// `plan` on the control socket: `pause` (no new TODO of the plan starts; running ones go on), `resume`, or
/// `cancel` (every unfinished TODO is cancelled; running ones are stopped on their workers). The reply is `plan`
/// with the plan's status.
public struct PlanRequest: WireBody, Equatable {
    public var plan: String
    public var action: String

    public init(plan: String, action: String) {
        self.plan = plan
        self.action = action
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try require(["pause", "resume", "cancel"].contains(action), "action", "must be pause, resume or cancel")
    }
}

extension StatusBody.PlanStatus: WireBody {
    public func validate() throws(ProtocolError) {}
}
