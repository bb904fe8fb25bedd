import CDroverSys
import CZeroMQ
import Foundation
import Synchronization

/// A message received on one of a ``SocketLoop``'s sockets.
public struct InboundMessage: Sendable {
    /// The index of the socket in the loop's spec list.
    public var socket: Int
    /// All frames, envelope included.
    public var frames: [Data]
    /// The user id the ZAP handler gave the sending peer, on a CURVE server socket (``SocketSecurity/curveServer(_:domain:)``).
    public var userID: String?

    public init(socket: Int, frames: [Data], userID: String? = nil) {
        self.socket = socket
        self.frames = frames
        self.userID = userID
    }
}

/// A message to send on one of a ``SocketLoop``'s sockets.
public struct OutboundMessage: Sendable {
    public var socket: Int
    public var frames: [Data]

    public init(socket: Int, frames: [Data]) {
        self.socket = socket
        self.frames = frames
    }
}

/// What runs on a ``SocketLoop``'s thread: it is handed every received batch and a tick, and sends through the
/// ``SocketLoop/Sender`` it is given. It is made on that thread and never leaves it, so it needs no locks.
public protocol SocketLoopHandler: AnyObject {
    /// Everything received since the last call, in arrival order per socket.
    func received(_ batch: [InboundMessage], sender: SocketLoop.Sender)
    /// Called about every tick interval, and once right after start.
    func tick(sender: SocketLoop.Sender)
    /// A message queued from another thread through ``SocketLoop/send(_:)`` could not be sent.
    func sendFailed(_ message: OutboundMessage, error: ZMQError, sender: SocketLoop.Sender)
    /// Called on the loop's thread before its sockets close.
    func stopping(sender: SocketLoop.Sender)
}

extension SocketLoopHandler {
    public func sendFailed(_ message: OutboundMessage, error: ZMQError, sender: SocketLoop.Sender) {}
    public func stopping(sender: SocketLoop.Sender) {}
}

/// One thread that owns a process's sockets, polls them together with an eventfd, and runs a handler.
///
/// This is the threading model of `docs/architecture.md` ("Concurrency"): sockets are created inside the
/// thread and never leave it; other threads hand messages over through a mutex-guarded outbox and wake the thread by
/// writing the eventfd only on the empty → non-empty transition. Received messages are delivered in batches.
public final class SocketLoop: Sendable {
    /// Sends from the loop's own thread, straight to the socket.
    public struct Sender {
        let sockets: [ZMQSocket]
        let connections: PeerConnections

        /// Sends now. Throws ``ZMQError`` (`isHostUnreachable` for a ROUTER peer that is gone).
        public func send(socket: Int, _ frames: [Data]) throws {
            try sockets[socket].send(frames)
        }

        /// Cuts every connection the key with user id `userID` sent its last message on, on each CURVE server socket
        /// (``PeerConnections``). The peer's reconnect goes through the ZAP handler again, which refuses a key that
        /// is no longer authorized. Returns the indices of the sockets where a connection was cut.
        @discardableResult
        public func disconnect(userID: String) -> [Int] {
            connections.cut(userID)
        }

        /// Cuts every connection accepted on socket `socket`: for a PUB socket, whose subscribers send nothing a key
        /// could be read from. Peers that are still authorized reconnect (a SUB subscribes again by itself); one
        /// whose key was revoked is refused by the ZAP handler. Returns how many were cut.
        @discardableResult
        public func disconnectAll(socket: Int) -> Int {
            connections.cutAll(socket: socket)
        }
    }

    /// What the loop bound, with wildcard ports resolved, per socket index.
    public let boundEndpoints: [[String]]

    private let state: Mutex<State>
    private let wakeFD: Int32
    private let finished: Mutex<[CheckedContinuation<Void, Never>]>
    private let isFinished = Atomic<Bool>(false)
    private let failure = Mutex<(any Error)?>(nil)

    private struct State {
        var outbox: [OutboundMessage] = []
        var stopRequested = false
    }

    private init(boundEndpoints: [[String]], wakeFD: Int32) {
        self.boundEndpoints = boundEndpoints
        self.wakeFD = wakeFD
        self.state = Mutex(State())
        self.finished = Mutex([])
    }

    /// Starts the thread, makes the sockets and the handler on it, runs `body`, and returns once the thread has
    /// closed its sockets and removed its ipc files.
    ///
    /// The loop stops when `body` returns or throws, when the calling task is cancelled, or when the handler calls
    /// ``fail(_:)``. A body that must notice the loop stopping (a handler's failure, or ``stop()``) awaits
    /// ``waitUntilFinished()``, or a stream its handler finishes in ``SocketLoopHandler/stopping(sender:)``.
    ///
    /// ```swift
    /// try await SocketLoop.run(name: "drover-events", context: context, sockets: specs, tick: .seconds(1)) { loop in
    ///     Handler(bound: loop.boundEndpoints)
    /// } body: { loop in
    ///     loop.send(OutboundMessage(socket: 0, frames: frames))
    ///     await loop.waitUntilFinished()
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the thread's name, for debuggers and `top -H`.
    ///   - sockets: the sockets, addressed by their index from then on.
    ///   - tick: how often ``SocketLoopHandler/tick(sender:)`` runs.
    ///   - makeHandler: runs on the loop's thread once every socket is bound (``boundEndpoints`` holds the
    ///     endpoints); a throw fails the start, and `body` does not run. The handler may keep the loop to call
    ///     ``fail(_:)``.
    ///   - body: runs in the calling task while the loop runs.
    /// - Returns: what `body` returned.
    /// - Throws: the error a failed start, ``fail(_:)`` or `body` threw, in that order of precedence;
    ///   `CancellationError` when the task was cancelled before the loop started.
    public static func run<Value>(
        name: String,
        context: ZMQContext,
        sockets: [SocketSpec],
        tick: Duration,
        isolation: isolated (any Actor)? = #isolation,
        makeHandler: @escaping @Sendable (_ loop: SocketLoop) throws -> any SocketLoopHandler,
        body: (_ loop: SocketLoop) async throws -> Value
    ) async throws -> Value {
        try Task.checkCancellation()
        let loop = try await launch(name: name, context: context, sockets: sockets, tick: tick, makeHandler: makeHandler)
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(
                try await withTaskCancellationHandler {
                    try await body(loop)
                } onCancel: {
                    loop.stop()
                }
            )
        } catch {
            outcome = .failure(error)
        }
        loop.stop()
        await loop.waitUntilFinished()
        if let failure = loop.failure.withLock({ $0 }) { throw failure }
        return try outcome.get()
    }

    /// Starts the thread, makes the sockets and the handler on it, and returns once every socket is bound.
    private static func launch(
        name: String,
        context: ZMQContext,
        sockets: [SocketSpec],
        tick: Duration,
        makeHandler: @escaping @Sendable (_ loop: SocketLoop) throws -> any SocketLoopHandler
    ) async throws -> SocketLoop {
        let wakeFD = drover_eventfd()
        guard wakeFD >= 0 else { throw ZMQError("eventfd", code: errno) }
        let tickMilliseconds = max(1, Int(tick.components.seconds * 1000 + tick.components.attoseconds / 1_000_000_000_000_000))
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SocketLoop, any Error>) in
            let thread = Thread {
                var made: [ZMQSocket] = []
                var bound: [[String]] = []
                do {
                    for spec in sockets {
                        let (socket, endpoints) = try spec.make(in: context)
                        made.append(socket)
                        bound.append(endpoints)
                    }
                } catch {
                    for socket in made { socket.close() }
                    close(wakeFD)
                    continuation.resume(throwing: error)
                    return
                }
                // From here the loop owns the eventfd and closes it when it goes.
                let loop = SocketLoop(boundEndpoints: bound, wakeFD: wakeFD)
                let handler: any SocketLoopHandler
                do {
                    handler = try makeHandler(loop)
                } catch {
                    for socket in made { socket.close() }
                    loop.removeIPCFiles()
                    continuation.resume(throwing: error)
                    return
                }
                continuation.resume(returning: loop)
                loop.run(
                    sockets: made,
                    readsUserID: sockets.map(\.security.readsUserID),
                    handler: handler,
                    tickMilliseconds: tickMilliseconds
                )
                loop.removeIPCFiles()
            }
            thread.name = name
            thread.start()
        }
    }

    /// Queues a message for the loop's thread to send. Safe from any thread; never blocks on the network.
    public func send(_ message: OutboundMessage) {
        let wasEmpty = state.withLock { state in
            let wasEmpty = state.outbox.isEmpty
            state.outbox.append(message)
            return wasEmpty
        }
        if wasEmpty { _ = drover_eventfd_signal(wakeFD) }
    }

    /// Asks the thread to stop: the handler's ``SocketLoopHandler/stopping(sender:)`` runs, the sockets close.
    public func stop() {
        state.withLock { $0.stopRequested = true }
        _ = drover_eventfd_signal(wakeFD)
    }

    /// Stops the loop because its handler cannot go on: ``run(name:context:sockets:tick:isolation:makeHandler:body:)``
    /// throws `error` once its body has returned. The first failure counts. Safe from any thread.
    public func fail(_ error: any Error) {
        failure.withLock { $0 = $0 ?? error }
        stop()
    }

    /// Waits until the thread has closed its sockets and removed its ipc files.
    public func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { waiters -> Bool in
                if isFinished.load(ordering: .acquiring) { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    // MARK: - The thread

    private func run(sockets: [ZMQSocket], readsUserID: [Bool], handler: any SocketLoopHandler, tickMilliseconds: Int) {
        let sender = Sender(sockets: sockets, connections: PeerConnections(boundEndpoints: boundEndpoints))
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        items.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
        let clock = ContinuousClock()
        var nextTick = clock.now
        var batch: [InboundMessage] = []
        batch.reserveCapacity(1024)

        while true {
            let untilTick = clock.now.duration(to: nextTick)
            let timeout = max(0, Int(untilTick.components.seconds * 1000 + untilTick.components.attoseconds / 1_000_000_000_000_000))
            let ready = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeout) }
            if ready < 0 && zmq_errno() != EINTR { break }

            // Drain every socket fully: zmq_poll is level-triggered, so nothing left behind is lost, but a full drain
            // makes the batch as large as possible.
            for (index, socket) in sockets.enumerated() where items[index].revents & Int16(ZMQ_POLLIN) != 0 {
                if readsUserID[index] {
                    var userID: String?
                    var descriptor: Int32 = -1
                    while let frames = try? socket.receive(userID: &userID, descriptor: &descriptor) {
                        if let userID { sender.connections.saw(userID, on: descriptor, socket: index) }
                        batch.append(InboundMessage(socket: index, frames: frames, userID: userID))
                        userID = nil
                        descriptor = -1
                        if batch.count >= 4096 { break }
                    }
                } else {
                    while let frames = try? socket.receive() {
                        batch.append(InboundMessage(socket: index, frames: frames))
                        if batch.count >= 4096 { break }
                    }
                }
            }
            if !batch.isEmpty {
                handler.received(batch, sender: sender)
                batch.removeAll(keepingCapacity: true)
            }

            drover_eventfd_drain(wakeFD)
            let (queued, stop) = state.withLock { state in
                let queued = state.outbox
                state.outbox.removeAll()
                return (queued, state.stopRequested)
            }
            for message in queued {
                do { try sender.send(socket: message.socket, message.frames) } catch let error as ZMQError {
                    handler.sendFailed(message, error: error, sender: sender)
                } catch {}
            }
            if stop { break }

            if clock.now >= nextTick {
                handler.tick(sender: sender)
                nextTick = clock.now.advanced(by: .milliseconds(tickMilliseconds))
            }
        }
        handler.stopping(sender: sender)
        for socket in sockets { socket.close() }
    }

    deinit {
        // Closed here, not when the thread ends: `send` and `stop` may still write to it until the last reference goes.
        close(wakeFD)
    }

    private func removeIPCFiles() {
        for endpoint in boundEndpoints.joined() where endpoint.hasPrefix("ipc://") {
            unlink(String(endpoint.dropFirst("ipc://".count)))
        }
        let waiters = finished.withLock { waiters in
            isFinished.store(true, ordering: .releasing)
            let all = waiters
            waiters.removeAll()
            return all
        }
        for waiter in waiters { waiter.resume() }
    }
}
