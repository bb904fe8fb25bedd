import DroverProtocol

/// A turn whose thread stopped (`thread/status/changed`: `idle` or `systemError`) without its `turn/completed`: once
/// ``grace`` has passed, the driver reads the thread (`thread/read` with its turns) and takes the turn's end from
/// there. A turn `thread/read` still shows in progress is waited for again, unless the thread reported a system error:
/// then it failed, and the failure says so.
///
/// codex sends `thread/status/changed` just before `turn/completed` (0.147 and 0.163 alike: `idle`, or `systemError`
/// followed by the failed turn), so the grace only runs out when the end is lost.
struct StalledTurnCheck: Sendable {
    /// How long after the thread stopped the turn's end may take before the thread is read.
    let grace: Duration
    /// When the thread last stopped; nil while it runs.
    private(set) var stoppedAt: ContinuousClock.Instant?
    /// Whether the thread reported a system error in this turn.
    private(set) var systemError = false

    init(grace: Duration) { self.grace = grace }

    /// Notes a status of the turn's thread, seen at `now`.
    mutating func observe(_ status: ThreadStatus, at now: ContinuousClock.Instant) {
        if status == .systemError { systemError = true }
        if !status.stopped {
            stoppedAt = nil
        } else if stoppedAt == nil {
            stoppedAt = now
        }
    }

    /// Whether to read the thread now: it stopped at least ``grace`` ago (the caller knows the turn has not ended).
    func isDue(at now: ContinuousClock.Instant) -> Bool { stoppedAt.map { now - $0 >= grace } ?? false }

    /// The turn was still in progress when read at `now`: wait another ``grace``.
    mutating func keepWaiting(at now: ContinuousClock.Instant) { stoppedAt = now }

    /// What a `thread/read` says of the turn.
    enum Verdict: Equatable, Sendable {
        /// The turn still runs (or the thread could not be read, after an idle thread): wait.
        case keepWaiting
        /// The turn has ended: these events stand for its end (its last message, then its `turn/completed`; an
        /// interrupted turn has no terminal event, and is resumed like one that crashed).
        case ended([CodexExecEvent])
    }

    /// The verdict on turn `turnID` (the thread's last turn when nil) of `thread`, from the `thread/read` result
    /// `read` (nil when the read failed); `usage` is the thread's latest token totals.
    func verdict(read: JSONValue?, thread: String, turnID: String?, usage: [String: JSONValue]) -> Verdict {
        var turn: [String: JSONValue]?
        if case .object(let result)? = read, case .object(let object)? = result["thread"], case .array(let turns)? = object["turns"] {
            let all = turns.compactMap { value -> [String: JSONValue]? in
                if case .object(let turn) = value { return turn }
                return nil
            }
            turn = turnID.map { id in all.last { $0["id"]?.stringValue == id } } ?? all.last
        }
        let status = turn?["status"]?.stringValue
        guard let turn, let status, ["completed", "failed", "interrupted"].contains(status) else {
            guard systemError else { return .keepWaiting }
            let id = turnID.map { " \($0)" } ?? ""
            let seen = status.map { "thread/read shows it \($0)" } ?? "thread/read does not show it"
            return .ended([
                .turnFailed(
                    message: "codex reported a system error on thread \(thread), and its turn\(id) never ended (\(seen)); "
                        + "the codex app-server's log may say why"
                )
            ])
        }
        var events: [CodexExecEvent] = []
        if case .array(let items)? = turn["items"] {
            let messages = items.compactMap { item -> String? in
                guard case .object(let item) = item, item["type"]?.stringValue == "agentMessage" else { return nil }
                return item["text"]?.stringValue
            }
            if let last = messages.last { events.append(.item(phase: "completed", type: "agent_message", fields: ["text": .string(last)])) }
        }
        events += AppServerEvents.events(method: "turn/completed", params: ["turn": .object(turn)], usage: usage)
        return .ended(events)
    }
}
