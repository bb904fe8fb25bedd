import Synchronization

/// Checkpoints taken while a turn runs: the session changed files or ran a command (``poke()``), so its work is
/// saved, at most once per `interval`; a poke inside the interval is kept for the interval's end, so the last change
/// is saved too. One checkpoint at a time; ``stop()`` waits for the one under way and takes no more.
final class MidTurnCheckpoints: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var running: Task<Void, Never>?
        var pending = false
        var stopped = false
    }

    private let interval: Duration
    private let take: @Sendable () async -> Void
    private let state = Mutex(State())

    init(interval: Duration, take: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.take = take
    }

    /// Something changed: a checkpoint now, or when the interval since the last one has passed.
    func poke() {
        state.withLock { state in
            guard !state.stopped else { return }
            guard state.running == nil else {
                state.pending = true
                return
            }
            let wait = state.last.map { max(.zero, interval - (ContinuousClock.now - $0)) } ?? .zero
            state.running = Task { await self.run(after: wait) }
        }
    }

    /// No more checkpoints; returns when the one under way has ended.
    func stop() async {
        let running = state.withLock { state -> Task<Void, Never>? in
            state.stopped = true
            return state.running
        }
        running?.cancel()
        await running?.value
    }

    private func run(after wait: Duration) async {
        if wait > .zero { try? await Task.sleep(for: wait) }
        var again = false
        if !state.withLock({ $0.stopped }) {
            // ``stop()`` cancels the wait, never a checkpoint under way: git stopped halfway would leave a lock behind.
            let take = self.take
            await Task { await take() }.value
            state.withLock { state in
                state.last = ContinuousClock.now
                again = state.pending && !state.stopped
                state.pending = false
            }
        }
        state.withLock { state in
            state.running = nil
            if again && !state.stopped { state.running = Task { await self.run(after: self.interval) } }
        }
    }
}
