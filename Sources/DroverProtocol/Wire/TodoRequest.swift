import Foundation

/// `todo` on the control socket: look at one TODO, take it up again, cancel it, steer its running session, pause it
/// or resume it. The reply is `todo` with a ``TodoReply``, or an `error` saying why the action is not possible.
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
        /// An operator's guidance (`text`) for a running codex session: injected into its running turn
        /// (app-server), else the input of its next turn. Recorded as `todo.steered`.
        public static let steer = Action(rawValue: "steer")
        /// A running codex session finishes its turn, checkpoints and stops; the TODO waits `paused`, its slot free.
        /// A TODO waiting for a worker (`ready`) is paused at once.
        public static let pause = Action(rawValue: "pause")
        /// A paused TODO is ready again; its next session goes on from the checkpoint on its branch.
        public static let resume = Action(rawValue: "resume")

        public static let all: Set<Action> = [.show, .retry, .cancel, .steer, .pause, .resume]
    }

    /// The most an operator's guidance may hold, in UTF-8 bytes.
    public static let maxSteerBytes = 16384

    public var plan: String
    public var todo: String
    public var action: Action
    /// For `steer`: the guidance, 1 to 16 KiB of UTF-8.
    public var text: String?
    /// For `steer`: who gave it (shown in the event); optional.
    public var by: String?

    public init(plan: String, todo: String, action: Action, text: String? = nil, by: String? = nil) {
        self.plan = plan
        self.todo = todo
        self.action = action
        self.text = text
        self.by = by
    }

    public func validate() throws(ProtocolError) {
        try requireID(plan, "plan")
        try requireID(todo, "todo")
        try require(Action.all.contains(action), "action", "must be show, retry, cancel, steer, pause or resume")
        if action == .steer {
            let text = text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            try require(!text.isEmpty, "text", "must say something: the guidance for the session")
            try require(
                (self.text ?? "").utf8.count <= Self.maxSteerBytes,
                "text",
                "is \((self.text ?? "").utf8.count) bytes: at most \(Self.maxSteerBytes) (16 KiB)"
            )
        }
        try requireText(by, "by", max: 200)
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
