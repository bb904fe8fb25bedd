/// The protocol's open vocabularies: words that cross the wire as strings.
///
/// Each is a struct with static members, as ``ProtocolError/Code-swift.struct`` is: code names the words it knows,
/// and a word it does not know still decodes (the wire stays open to new values; validation says which are allowed
/// where).
public protocol WireWord: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible where RawValue == String {
    init(rawValue: String)
}

extension WireWord {
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a `control` message orders a worker to do about one lease.
public struct ControlAction: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Stop the work and report `cancelled`.
    public static let cancel = ControlAction(rawValue: "cancel")
    /// Stop the work and report nothing: the lease is not yours any more.
    public static let abort = ControlAction(rawValue: "abort")
    /// An operator answered the inbox item `item`.
    public static let answer = ControlAction(rawValue: "answer")
    /// An operator's guidance for the session, in `text`: into its running turn when it can take it (app-server
    /// `turn/steer`), else the input of its next turn.
    public static let steer = ControlAction(rawValue: "steer")
    /// Finish the current turn, checkpoint, stop, and report `paused`.
    public static let pause = ControlAction(rawValue: "pause")
}

/// What a session asks a human through the inbox.
public struct AskKind: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// May the session do something outside its granted policy (run a command, write a file)?
    public static let approval = AskKind(rawValue: "approval")
    /// The agent asked something only a human can answer.
    public static let question = AskKind(rawValue: "question")
    /// The permissions a job's plan needs, asked once before it runs (an item of the coordinator's, not a session's).
    public static let permissions = AskKind(rawValue: "permissions")
    /// A merge that could not be done, even repaired by codex: the plan's merge queue waits. `approve` tries it
    /// again, `deny` leaves the TODO's work out of the integration branch (`text` is the reason). An item of the
    /// coordinator's, not a session's.
    public static let merge = AskKind(rawValue: "merge")
    /// A plan reached its cost cap and is paused: answer with a new cap in dollars to raise it and go on, or deny to
    /// stop the plan. An item of the coordinator's, not a session's.
    public static let budget = AskKind(rawValue: "budget")
    /// Old-style recovery request, from workers that predate the `recover` message; answered by the policy.
    public static let recovery = AskKind(rawValue: "recovery")

    /// The kinds a human answers.
    public static let forHumans: Set<AskKind> = [.approval, .question]
}

/// An answer to an inbox item.
public struct Decision: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let approve = Decision(rawValue: "approve")
    public static let deny = Decision(rawValue: "deny")
    /// A free-text answer, in `text`.
    public static let reply = Decision(rawValue: "reply")

    public static let all: Set<Decision> = [.approve, .deny, .reply]
}

/// A way a session went wrong, as the worker's session supervisor saw it. The coordinator's recovery limits are
/// counted per detection.
public struct Detection: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The turn ended with the TODO's checks failing, and the agent had not said it was done: it said there is more
    /// to do, stopped after a plan, said nothing, or changed nothing.
    public static let stoppedEarly = Detection(rawValue: "stopped_early")
    /// The agent said it was done, and the TODO's checks fail.
    public static let checksFailed = Detection(rawValue: "checks_failed")
    /// No agent event for the idle limit while no command ran.
    public static let hung = Detection(rawValue: "hung")
    /// The same command with the same result again and again.
    public static let looping = Detection(rawValue: "looping")
    /// Codex exited without ending its turn.
    public static let crashed = Detection(rawValue: "crashed")
    /// A rate limit, an overloaded model, a dropped stream.
    public static let transientError = Detection(rawValue: "transient_error")
    /// The context window is full.
    public static let contextFull = Detection(rawValue: "context_full")
    /// The agent's final message asks a question.
    public static let asksHuman = Detection(rawValue: "asks_human")
    /// The session's answer (a job step's JSON) could not be used; it is sent back with its problems.
    public static let invalidAnswer = Detection(rawValue: "invalid_answer")
    /// The account's usage limit, or a rate limit that asks for a long wait: the TODO is parked until the reset when
    /// its time is known, escalated otherwise.
    public static let usageLimit = Detection(rawValue: "usage_limit")
}

/// The supervisor policy's answer to a `recover` request.
public struct RecoveryDecision: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Go ahead with the proposed recovery.
    public static let recover = RecoveryDecision(rawValue: "recover")
    /// Stop and escalate: the limit for this kind of trouble is reached.
    public static let escalate = RecoveryDecision(rawValue: "escalate")
}

/// The kind of an agent event (``AgentEvent/kind``): a small open set; readers ignore kinds they do not know.
public struct AgentEventKind: WireWord {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let started = AgentEventKind(rawValue: "started")
    public static let output = AgentEventKind(rawValue: "output")
    public static let check = AgentEventKind(rawValue: "check")
    public static let workspace = AgentEventKind(rawValue: "workspace")
    public static let checkpoint = AgentEventKind(rawValue: "checkpoint")
    public static let checkpointFailed = AgentEventKind(rawValue: "checkpoint_failed")
    /// The supervisor saw something go wrong: `<detection>: <evidence>`.
    public static let detected = AgentEventKind(rawValue: "detected")
    /// What the supervisor does about it, or `escalate: <why>`.
    public static let recovery = AgentEventKind(rawValue: "recovery")
    public static let approval = AgentEventKind(rawValue: "approval")
    public static let thread = AgentEventKind(rawValue: "thread")
    public static let turnStarted = AgentEventKind(rawValue: "turn_started")
    public static let turnCompleted = AgentEventKind(rawValue: "turn_completed")
    /// The session's model tokens so far under its lease (``AgentEvent/usage``, ``AgentEvent/model``), after each
    /// turn: the coordinator's cost per TODO, plan and job is live with it, and its cost caps act on it.
    public static let usage = AgentEventKind(rawValue: "usage")
    public static let turnFailed = AgentEventKind(rawValue: "turn_failed")
    public static let message = AgentEventKind(rawValue: "message")
    public static let reasoning = AgentEventKind(rawValue: "reasoning")
    public static let command = AgentEventKind(rawValue: "command")
    public static let fileChange = AgentEventKind(rawValue: "file_change")
    public static let fileChangeStarted = AgentEventKind(rawValue: "file_change_started")
    public static let commandStarted = AgentEventKind(rawValue: "command_started")
    public static let item = AgentEventKind(rawValue: "item")
    public static let error = AgentEventKind(rawValue: "error")
    public static let warning = AgentEventKind(rawValue: "warning")
    public static let other = AgentEventKind(rawValue: "other")
    /// An operator's guidance reached the session (`text` says how: into the running turn, or as the next turn's
    /// input), or could not (a session that runs a command).
    public static let steered = AgentEventKind(rawValue: "steered")
    /// The session stops after its turn because an operator paused it.
    public static let paused = AgentEventKind(rawValue: "paused")
    /// codex retries the model request itself (`Reconnecting... 1/5`, `waiting for network`): not a failure, and
    /// not progress either; `text` is codex's notice.
    public static let retrying = AgentEventKind(rawValue: "retrying")
    /// codex's thread waits on Drover's answer (an approval, the user's input), or goes on again: `text` says which.
    public static let waiting = AgentEventKind(rawValue: "waiting")
}
