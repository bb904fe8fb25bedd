import DroverProtocol

/// A thread's status, as codex's `thread/status/changed` notification says it (0.147 on): what Drover reads from it
/// is whether the thread stopped (`idle`, `systemError`: its turn should end now) and whether it waits on Drover's
/// answer (the `active` flags `waitingOnApproval`, `waitingOnUserInput`: waiting is not hanging).
enum ThreadStatus: Equatable, Sendable {
    /// Not loaded in this server.
    case notLoaded
    /// No turn runs.
    case idle
    /// codex hit an error it could not recover from in the thread; the turn's `turn/completed` (failed) follows.
    case systemError
    /// A turn runs; `waitingOn` holds what it waits for from the client, if anything.
    case active(waitingOn: Set<Wait>)

    /// What an active thread waits for from its client (codex's `activeFlags`).
    enum Wait: String, Sendable, CaseIterable, Comparable {
        case approval = "waitingOnApproval"
        case userInput = "waitingOnUserInput"

        static func < (lhs: Wait, rhs: Wait) -> Bool { lhs.rawValue < rhs.rawValue }

        var text: String {
            switch self {
            case .approval: "an approval"
            case .userInput: "the user's input"
            }
        }
    }

    /// The status a `thread/status/changed` notification gives `thread`; nil when it is about another thread or
    /// names a status this build does not know (unknown flags are left out).
    init?(notification params: [String: JSONValue], thread: String?) {
        guard params["threadId"]?.stringValue == thread, case .object(let status)? = params["status"] else { return nil }
        switch status["type"]?.stringValue {
        case "notLoaded": self = .notLoaded
        case "idle": self = .idle
        case "systemError": self = .systemError
        case "active":
            var waits: Set<Wait> = []
            if case .array(let flags)? = status["activeFlags"] {
                for flag in flags { if let wait = flag.stringValue.flatMap(Wait.init(rawValue:)) { waits.insert(wait) } }
            }
            self = .active(waitingOn: waits)
        default: return nil
        }
    }

    /// Whether the thread no longer runs a turn: its `turn/completed` is due.
    var stopped: Bool { self == .idle || self == .systemError }

    /// What the thread waits for from Drover (empty when it does not wait).
    var waits: Set<Wait> {
        if case .active(let waits) = self { return waits }
        return []
    }

    /// The agent event for a change of what the thread waits for, from `before`; nil when that did not change.
    func waitingEvent(after before: ThreadStatus?) -> AgentEvent? {
        let (now, then) = (waits, before?.waits ?? [])
        guard now != then else { return nil }
        if now.isEmpty { return AgentEvent(kind: .waiting, text: "codex goes on: it no longer waits") }
        return AgentEvent(kind: .waiting, text: "codex waits for " + now.sorted().map(\.text).joined(separator: " and "))
    }
}
