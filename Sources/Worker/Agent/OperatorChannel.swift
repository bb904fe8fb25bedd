public import DroverProtocol
import Synchronization

/// The operator's voice in a running session: guidance (`drover steer`) and a request to pause (`drover todo
/// pause`), put in by the worker when the coordinator's `control` arrives, taken out by the session when it can
/// use them.
///
/// A codex session takes guidance into its running turn (app-server `turn/steer`) or as its next turn's input, and
/// pauses before its next turn (``CodexAgent``). A session that cannot take either (a command) closes the channel,
/// and what is put in afterwards is refused, so the worker can say so.
public final class OperatorChannel: Sendable {
    private struct State {
        var closed = false
        var steers: [String] = []
        var pauseRequested = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Guidance for the session; false when it takes none.
    @discardableResult
    public func steer(_ text: String) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.steers.append(text)
            return true
        }
    }

    /// Asks the session to stop after its turn; false when it cannot.
    @discardableResult
    public func pause() -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.pauseRequested = true
            return true
        }
    }

    /// Whether an operator asked the session to stop after its turn.
    public var pauseRequested: Bool { state.withLock { $0.pauseRequested } }

    /// The guidance not yet taken, oldest first; the channel keeps none of it.
    public func takeSteers() -> [String] {
        state.withLock { state in
            defer { state.steers.removeAll() }
            return state.steers
        }
    }

    /// Guidance taken but not delivered (the turn ended before `turn/steer` reached it) goes back, first in line.
    public func putBack(_ texts: [String]) {
        guard !texts.isEmpty else { return }
        state.withLock { $0.steers.insert(contentsOf: texts, at: 0) }
    }

    /// The session takes nothing from an operator (it runs a command): later guidance and pauses are refused.
    /// Returns the guidance that came before, which it will not take either.
    public func close() -> [String] {
        state.withLock { state in
            state.closed = true
            defer { state.steers.removeAll() }
            return state.steers
        }
    }

    /// The event that says `what` (`guidance`, `pause`) did not reach a session that runs a command.
    public static func notTaken(_ what: String, _ text: String?) -> AgentEvent {
        AgentEvent(
            kind: .steered,
            text: "not delivered: this session runs a command, not codex, and takes no \(what) (cancel or retry it instead)"
                + (text.map { ": \($0)" } ?? "")
        )
    }
}
