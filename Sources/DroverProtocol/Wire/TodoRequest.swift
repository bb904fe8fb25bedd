/// `todo` on the control socket: look at one TODO, take it up again, or cancel it. The reply is `todo` with a
/// ``TodoReply``, or an `error` saying why the action is not possible.
public struct TodoRequest: WireBody, Equatable {
    /// What an operator does to one TODO.
    public struct Action: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Look: its status and latest events.
        public static let show = Action(rawValue: "show")
        /// A failed, escalated, cancelled or skipped TODO goes back to the queue, with fresh attempts and recovery
        /// counts, and what was skipped because of it is pending again.
        public static let retry = Action(rawValue: "retry")
        /// Stop it: a running TODO is stopped on its worker.
        public static let cancel = Action(rawValue: "cancel")

        public static let all: Set<Action> = [.show, .retry, .cancel]
    }

    public var plan: String
    public var todo: String
    public var action: Action

    public init(plan: String, todo: String, action: Action) {
        self.plan = plan
        self.todo = todo
        self.action = action
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try requireID(todo, "todo")
        try require(Action.all.contains(action), "action", "must be show, retry or cancel")
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
    /// What an operator does to a plan.
    public struct Action: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let pause = Action(rawValue: "pause")
        public static let resume = Action(rawValue: "resume")
        public static let cancel = Action(rawValue: "cancel")

        public static let all: Set<Action> = [.pause, .resume, .cancel]
    }

    public var plan: String
    public var action: Action

    public init(plan: String, action: Action) {
        self.plan = plan
        self.action = action
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try require(Action.all.contains(action), "action", "must be pause, resume or cancel")
    }
}

extension StatusBody.PlanStatus: WireBody {
    public func validate() throws(ProtocolError) {}
}
