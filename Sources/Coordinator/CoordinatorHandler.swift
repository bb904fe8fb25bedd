import DroverProtocol
import DroverTransport
import Logging
import Synchronization

/// Connects ``CoordinatorCore`` to the socket loop: feeds it batches and ticks, commits, sends what it returns.
final class CoordinatorHandler: SocketLoopHandler {
    private let core: CoordinatorCore
    private let loop: SocketLoop
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    /// The state store failed: the loop stops with this, and nothing more is sent.
    struct StoreFailure: Error {
        var underlying: any Error
    }

    /// - Parameters:
    ///   - loop: the loop the handler runs on, failed when the state store fails.
    init(core: CoordinatorCore, loop: SocketLoop) {
        self.core = core
        self.loop = loop
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

    /// Commits, then sends; then cuts the connections of keys revoked a moment ago. A failed send (a worker gone)
    /// changes state, which is committed and sent in turn.
    private func flush(_ sender: SocketLoop.Sender, now: Int64) {
        defer {
            let due = core.takeDueCuts(now: now)
            for userID in due.userIDs { core.connectionsCut(of: userID, on: sender.disconnect(userID: userID)) }
            if due.subscribers { core.subscribersCut(sender.disconnectAll(socket: CoordinatorCore.Socket.events)) }
        }
        for _ in 0..<4 {
            let messages: [OutboundMessage]
            do {
                messages = try core.commit()
            } catch {
                // Without durable state nothing may be sent: stop, and let the service report the error.
                loop.fail(StoreFailure(underlying: error))
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
