import Synchronization

/// Sessions waiting for the coordinator's answer, by item: each question or recovery request gets an item name
/// here, its session's continuation is kept under it, and ``resume(_:with:)`` hands the answer over.
///
/// Keeping the continuations out of ``WorkerCore`` lets the core deal in plain values: it gets the item with the
/// question and answers with ``WorkerEffect/answer(item:_:)`` or ``WorkerEffect/decide(item:_:)``.
final class WaitingSessions<Answer: Sendable>: Sendable {
    private struct State {
        var count = 0
        var waiting: [String: CheckedContinuation<Answer, Never>] = [:]
    }

    private let prefix: String
    private let run: String
    private let state = Mutex(State())

    /// `prefix` starts every item name ("q" for questions, "r" for recovery requests), so the two kinds never clash;
    /// `run` ends it, so the items of a worker restarted under the same id are never taken for its earlier items
    /// (`q1-5be1f0`): an answer or decision for those finds nobody waiting.
    init(prefix: String, run: String = WaitingSessions.newRun()) {
        self.prefix = prefix
        self.run = run
    }

    /// Six hex digits, new in every process.
    static func newRun() -> String {
        let digits = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// Names a new item, keeps the caller waiting under it, and calls `announce` with it (after the continuation is
    /// kept, so even an immediate answer finds it); returns the answer.
    func wait(announce: (_ item: String) -> Void) async -> Answer {
        await withCheckedContinuation { continuation in
            let item = state.withLock { state in
                state.count += 1
                let item = "\(prefix)\(state.count)-\(run)"
                state.waiting[item] = continuation
                return item
            }
            announce(item)
        }
    }

    /// Resumes the session waiting on `item`; an item nobody waits on any more is ignored.
    func resume(_ item: String, with answer: Answer) {
        state.withLock { $0.waiting.removeValue(forKey: item) }?.resume(returning: answer)
    }
}
