import DroverProtocol
import DroverTransport
import Logging
import Synchronization

/// Connects ``CoordinatorCore`` to the socket loop: feeds it batches and ticks, commits, sends what it returns.
final class CoordinatorHandler: SocketLoopHandler {
    private let core: CoordinatorCore
    private let failure: FailureBox
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init(core: CoordinatorCore, failure: FailureBox) {
        self.core = core
        self.failure = failure
        self.start = clock.now
    }

    /// Monotonic milliseconds since this process started.
    private var now: Int64 { start.duration(to: clock.now).milliseconds }

    func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
        let now = self.now
        for message in batch { core.receive(message, now: now) }
        core.schedule(now: now)
        flush(sender, now: now)
    }

    func tick(sender: SocketLoop.Sender) {
        let now = self.now
        core.tick(now: now)
        flush(sender, now: now)
    }

    /// Commits, then sends. A failed send (a worker gone) changes state, which is committed and sent in turn.
    private func flush(_ sender: SocketLoop.Sender, now: Int64) {
        for _ in 0..<4 {
            let messages: [OutboundMessage]
            do {
                messages = try core.commit()
            } catch {
                // Without durable state nothing may be sent: stop, and let the service report the error.
                failure.fail(error)
                return
            }
            if messages.isEmpty { return }
            for message in messages {
                do {
                    try sender.send(socket: message.socket, message.frames)
                } catch let error as ZMQError {
                    core.sendFailed(message, error: error, now: now)
                } catch {}
            }
            if !core.hasUncommittedChanges { return }
        }
    }
}

/// Carries a fatal error from the loop's thread to the service.
final class FailureBox: Sendable {
    private let error = Mutex<(any Error)?>(nil)
    private let onFail: @Sendable () -> Void

    init(onFail: @escaping @Sendable () -> Void) { self.onFail = onFail }

    func fail(_ error: any Error) {
        self.error.withLock { $0 = $0 ?? error }
        onFail()
    }

    var value: (any Error)? { error.withLock { $0 } }
}
