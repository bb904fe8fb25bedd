/// One entry of the event stream: a state change, or agent activity, with its global sequence number.
///
/// Published on the PUB socket as `[topic][event JSON]`. Sequence numbers start at 1 and grow by one with every event
/// the coordinator records, so an observer that sees a jump knows it missed something.
public struct Event: Codable, Sendable, Equatable {
    public var seq: Int64
    /// Milliseconds since the Unix epoch.
    public var ts: Int64
    /// What happened: `todo.assigned`, `worker.lost`… The prefix before the first dot is the subject.
    public var type: EventType
    public var plan: String?
    public var todo: String?
    public var worker: String?
    /// Details particular to the type; the reason and evidence for decisions.
    public var data: [String: JSONValue]

    public init(
        seq: Int64,
        ts: Int64,
        type: EventType,
        plan: String? = nil,
        todo: String? = nil,
        worker: String? = nil,
        data: [String: JSONValue] = [:]
    ) {
        self.seq = seq
        self.ts = ts
        self.type = type
        self.plan = plan
        self.todo = todo
        self.worker = worker
        self.data = data
    }

    /// The topic the event is published under; subscribers filter by its prefix.
    ///
    /// `todo.<plan>.<todo>` for TODO changes, `agent.<plan>.<todo>` for agent activity, `worker.<id>`,
    /// `plan.<id>`, `job.<id>`, `merge.<plan>`, and the type's own subject for the rest (`coordinator`, `lease`).
    public var topic: String {
        let subject = type.subject
        switch subject {
        case "todo", "agent":
            return "\(subject).\(plan ?? "-").\(todo ?? "-")"
        case "worker":
            return "worker.\(worker ?? "-")"
        case "plan":
            return "plan.\(plan ?? "-")"
        case "job":
            return "job.\(plan ?? "-")"
        case "merge":
            return "merge.\(plan ?? "-")"
        default:
            return String(subject)
        }
    }
}

extension Event {
    /// The event as compact JSON, the same document `JSONEncoder` would give (keys in a fixed order).
    public var json: String {
        var text = #"{"seq":"# + String(seq) + #","ts":"# + String(ts) + #","type":"#
        WireCodec.appendJSONString(type.rawValue, to: &text)
        for (key, value) in [("plan", plan), ("todo", todo), ("worker", worker)] {
            guard let value else { continue }
            text += #",""# + key + #"":"#
            WireCodec.appendJSONString(value, to: &text)
        }
        text += #","data":"#
        JSONValue.object(data).appendJSON(to: &text)
        text += "}"
        return text
    }
}
