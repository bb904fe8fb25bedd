import DroverProtocol

/// The operator's voice in a live session: guidance sent into a running codex session (`steer`), and a session
/// stopped after its turn and taken up again later (`pause`, `resume`).
///
/// Only TODOs run by codex (they have a `prompt`) are steered or paused: a command has no turn to stop after and
/// nothing to read guidance, so those are refused here, with what to do instead.
extension CoordinatorCore {
    /// The detail of a TODO paused by an operator; its next session is told so (``taskSpec(for:)``).
    static let pausedDetail = "paused by an operator: `drover todo resume` to go on"

    /// Sends an operator's guidance to the worker running the TODO, and records it.
    func steer(_ key: TodoKey, _ todo: TodoRecord, text: String, by: String) throws(ProtocolError) {
        guard todo.state == .running, let leaseID = todo.leaseID, let worker = todo.worker else {
            throw ProtocolError(
                .rejected,
                "\(key) is \(todo.state.rawValue): only a running TODO can be steered\(Self.whenRunning(todo.state))"
            )
        }
        guard todo.spec.prompt != nil else {
            throw ProtocolError(.rejected, "\(key) runs a command, not a codex session: it cannot be steered (cancel or retry it instead)")
        }
        send(Socket.work, to: worker, .control, ControlBody(action: .steer, leaseId: leaseID, reason: "an operator steered it", text: text))
        record(
            .todoSteered,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            ["text": .string(text), "by": .string(by), "lease": .string(leaseID)]
        )
    }

    /// A running TODO's worker is asked to stop its session after the turn (it reports `paused`); a ready one is
    /// paused at once.
    func pause(_ key: TodoKey, _ todo: TodoRecord, by: String) throws(ProtocolError) {
        guard todo.spec.prompt != nil, !isMerge(key) else {
            throw ProtocolError(.rejected, "\(key) is not a codex session: only a TODO with a prompt can be paused (cancel it instead)")
        }
        switch todo.state {
        case .running:
            guard let leaseID = todo.leaseID, let worker = todo.worker else { fallthrough }
            send(Socket.work, to: worker, .control, ControlBody(action: .pause, leaseId: leaseID, reason: "an operator paused it"))
            pausing.insert(key)
            record(.todoPauseRequested, plan: key.plan, todo: key.todo, worker: worker, ["by": .string(by), "lease": .string(leaseID)])
        case .ready:
            guard todos.pause(key, detail: Self.pausedDetail) else { fallthrough }
            record(.todoPaused, plan: key.plan, todo: key.todo, ["by": .string(by)])
        default:
            throw ProtocolError(
                .rejected,
                "\(key) is \(todo.state.rawValue): only a running or ready TODO can be paused\(Self.whenRunning(todo.state))"
            )
        }
    }

    /// A paused TODO is ready again.
    func resume(_ key: TodoKey, _ todo: TodoRecord, by: String, now: Int64) throws(ProtocolError) {
        guard todo.state == .paused, todos.resume(key, detail: "resumed by an operator after a pause", at: wallClockMilliseconds()) else {
            throw ProtocolError(.rejected, "\(key) is \(todo.state.rawValue): only a paused TODO can be resumed")
        }
        record(.todoResumed, plan: key.plan, todo: key.todo, ["by": .string(by)])
        schedule(now: now)
    }

    /// The worker stopped the session after its turn, as asked: the TODO waits paused, its slot free.
    func paused(_ key: TodoKey, worker: String, _ data: [String: JSONValue]) {
        pausing.remove(key)
        guard todos.pause(key, detail: Self.pausedDetail) else { return }
        record(.todoPaused, plan: key.plan, todo: key.todo, worker: worker, data)
    }

    /// A TODO back in the queue before its session paused (its worker was lost, or handed it back) waits paused, as
    /// the operator asked.
    func pauseIfAsked(_ key: TodoKey) {
        guard pausing.remove(key) != nil, todos.pause(key, detail: Self.pausedDetail) else { return }
        record(.todoPaused, plan: key.plan, todo: key.todo, ["reason": "it came back to the queue before its session paused"])
    }

    /// What to do about a TODO that is not running yet.
    private static func whenRunning(_ state: TodoState) -> String {
        switch state {
        case .pending, .ready, .assigned: " (it has not started: try again once it runs)"
        case .paused: " (it is paused: `drover todo resume` first)"
        default: ""
        }
    }
}
