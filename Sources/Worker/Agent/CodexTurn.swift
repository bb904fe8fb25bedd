import DroverProtocol
import Foundation
import Synchronization

/// What one codex turn has shown so far, fed line by line from the process's reader thread and read by the
/// watchdog and the agent: its terminal line, thread, last message, open commands, activity and repetition.
final class CodexTurn: Sendable {
    private struct State {
        var splitter = LineSplitter()
        var ending: CodexExecEvent?
        var lastMessage: String?
        var threadID: String?
        var lastActivity = ContinuousClock.now
        var openCommands = 0
        /// Commands run and file changes made in the turn.
        var actions = 0
        /// Waits for a human in progress: the session is not idle while one runs.
        var waitingForHuman = 0
        /// codex says its thread waits on Drover's answer (an approval, the user's input).
        var codexWaiting = false
        var tokens: Int64 = 0
        /// The thread's running total when the turn completed.
        var usage: TokenUsage?
        /// How often each (command, exit code, output) was seen in this turn.
        var repeats: [String: Int] = [:]
        var looping: String?
        /// Why the policy refused to recover from the loop while the turn ran.
        var loopRefusal: String?
        var hung = false
    }

    private let state = Mutex(State())
    private let loopThreshold: Int

    init(loopThreshold: Int) { self.loopThreshold = loopThreshold }

    /// Parses new `codex exec --json` output; returns the events it held.
    func take(_ data: Data) -> [CodexExecEvent] {
        let parsed = state.withLock { $0.splitter.lines(adding: data) }.compactMap(CodexExecEvent.init(line:))
        feed(parsed)
        return parsed
    }

    /// Takes events that are already parsed (from app-server notifications).
    func feed(_ parsed: [CodexExecEvent]) {
        state.withLock { state in
            // codex retrying the model request is not progress: waiting for the network forever is a hang.
            if parsed.contains(where: { if case .retrying = $0 { false } else { true } }) { state.lastActivity = .now }
            for event in parsed {
                switch event {
                case .turnCompleted(let usage):
                    state.ending = event
                    let total = TokenUsage(
                        input: usage["input_tokens"]?.intValue ?? 0,
                        cachedInput: usage["cached_input_tokens"]?.intValue ?? 0,
                        output: usage["output_tokens"]?.intValue ?? 0
                    )
                    state.usage = total
                    state.tokens = total.total
                case .turnFailed:
                    state.ending = event
                case .threadStarted(let id):
                    state.threadID = id
                case .item(_, "agent_message", let fields):
                    state.lastMessage = fields["text"]?.stringValue
                case .item("started", "command_execution", _):
                    state.openCommands += 1
                case .item("completed", "file_change", _):
                    state.actions += 1
                case .item("completed", "command_execution", let fields):
                    state.openCommands = max(0, state.openCommands - 1)
                    state.actions += 1
                    let command = fields["command"]?.stringValue ?? ""
                    // Same command, same exit status, same last line of output: the result, without the shell start-up
                    // noise that can differ between runs.
                    let output = fields["aggregated_output"]?.stringValue ?? ""
                    let lastLine = output.split(separator: "\n").last.map(String.init) ?? ""
                    let signature = "\(command)\u{0}\(fields["exit_code"]?.intValue ?? -1)\u{0}\(lastLine)"
                    state.repeats[signature, default: 0] += 1
                    if state.repeats[signature]! >= loopThreshold && state.looping == nil {
                        state.looping = "`\(command)` ran \(state.repeats[signature]!) times with the same result"
                    }
                default:
                    break
                }
            }
        }
    }

    /// Clears a loop once it has been dealt with (steered), so only a new one counts.
    func forgetLoop() {
        state.withLock { state in
            state.looping = nil
            state.repeats.removeAll()
        }
    }

    /// Notes that the policy refused to recover from the loop in the running turn, and why.
    func refuseLoopRecovery(_ reason: String) {
        state.withLock { $0.loopRefusal = reason }
    }

    /// Marks the start (true) or end (false) of a wait for a human; the idle clock restarts at the end.
    func waiting(_ started: Bool) {
        state.withLock { state in
            state.waitingForHuman += started ? 1 : -1
            state.lastActivity = .now
        }
    }

    /// Notes whether codex says its thread waits on Drover's answer (`thread/status/changed` flags); the idle clock
    /// restarts when that changes.
    func codexWaits(_ waits: Bool) {
        state.withLock { state in
            guard state.codexWaiting != waits else { return }
            state.codexWaiting = waits
            state.lastActivity = .now
        }
    }

    var ending: CodexExecEvent? { state.withLock { $0.ending } }
    var lastMessage: String? { state.withLock { $0.lastMessage } }
    var threadID: String? { state.withLock { $0.threadID } }
    /// Tokens the thread has used so far (codex reports the thread's running total).
    var tokens: Int64 { state.withLock { $0.tokens } }
    /// The thread's running token total when the turn completed (codex reports totals, not a turn's own).
    var usage: TokenUsage? { state.withLock { $0.usage } }
    /// Evidence of a loop, once one is seen.
    var looping: String? { state.withLock { $0.looping } }
    /// Why the policy refused to recover from the loop while the turn ran, when it did.
    var loopRefusal: String? { state.withLock { $0.loopRefusal } }
    var hung: Bool { state.withLock { $0.hung } }
    /// Commands run and file changes made in the turn so far.
    var actions: Int { state.withLock { $0.actions } }

    /// Marks the turn hung if nothing has happened for `limit` while no command runs (a long command is not a stall)
    /// and nothing waits for an answer (a human's, or Drover's as codex says).
    func checkHung(limit: Duration) -> Bool {
        state.withLock { state in
            if state.ending == nil && state.openCommands == 0 && state.waitingForHuman == 0 && !state.codexWaiting
                && ContinuousClock.now - state.lastActivity > limit
            {
                state.hung = true
            }
            return state.hung
        }
    }
}
