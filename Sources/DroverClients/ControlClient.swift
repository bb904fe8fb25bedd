import DroverProtocol
import DroverTransport
import Foundation
import Synchronization

/// A client of the coordinator's control socket: one request, one reply.
///
/// A client made with ``init(endpoint:timeout:)`` opens a connection (a ZeroMQ context, a thread and a DEALER) for
/// each request and closes it after the reply: right for a command that asks once. A process that asks often (the
/// dashboard, `drover run`, an event follower) keeps one connection for as long as it needs it with
/// ``withConnection(endpoint:timeout:isolation:_:)``, and shares the client it is given, also between concurrent
/// tasks.
///
/// Replies carry no reference to their request, so a connection has one request in flight at a time, and the others
/// wait their turn. A request that gets no reply in time leaves the connection out of step (its reply may still
/// come), so the connection is closed and the next request opens a new one.
public struct ControlClient: Sendable {
    /// The coordinator's control endpoint.
    public var endpoint: String
    /// How long a request waits for its reply, counted from the call (the wait for its turn included).
    public var timeout: Duration
    /// The client's CURVE keys when the coordinator has keys (``SocketSecurity/curveClient(_:server:)``).
    public var security: SocketSecurity
    private let connection: Connection?

    /// A client that connects for each request.
    public init(endpoint: String, timeout: Duration = .seconds(5), security: SocketSecurity = .none) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.security = security
        self.connection = nil
    }

    private init(endpoint: String, timeout: Duration, security: SocketSecurity, connection: Connection) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.security = security
        self.connection = connection
    }

    /// Runs `body` with a client that keeps one connection to the coordinator until `body` returns.
    ///
    /// The client may be copied and used from any task while `body` runs; requests made after it returned fail
    /// with ``DroverError`` (`no_reply`). The connection is opened at the first request, and again after a request timed out.
    ///
    /// - Parameters:
    ///   - endpoint: the coordinator's control endpoint.
    ///   - timeout: how long each request waits for its reply.
    ///   - security: the client's CURVE keys when the coordinator has keys.
    ///   - body: what uses the client.
    /// - Returns: what `body` returned, once the connection is closed.
    public static func withConnection<Value>(
        endpoint: String,
        timeout: Duration = .seconds(5),
        security: SocketSecurity = .none,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (ControlClient) async throws -> Value
    ) async throws -> Value {
        let connection = Connection(endpoint: endpoint, timeout: timeout, security: security)
        let client = ControlClient(endpoint: endpoint, timeout: timeout, security: security, connection: connection)
        return try await withThrowingTaskGroup(of: Void.self, returning: Value.self, isolation: isolation) { group in
            group.addTask { await connection.serve() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Sends a request and decodes the reply's body as `Reply`.
    /// - Throws: ``ProtocolError`` when the coordinator answered with an `error`; ``DroverError`` with `no_reply` on
    ///   timeout, or `closed` once the connection is closed; `CancellationError` when the calling task is cancelled.
    public func request<Body: Encodable & Sendable, Reply: WireBody>(
        _ type: MessageType,
        _ body: Body,
        as _: Reply.Type
    ) async throws -> Reply {
        let request = WireCodec().frames(Header(type: type, id: "op-\(UUID().uuidString.prefix(8))", seq: 1), body)
        let frames = try await exchange(request)
        let codec = WireCodec()
        guard frames.count == 2 else { throw DroverError(.noReply, "the coordinator sent a reply with \(frames.count) frames") }
        let header = try codec.header(from: frames[0])
        if header.type == .error {
            let error = try codec.body(ErrorBody.self, from: frames[1])
            throw ProtocolError(error.code, error.message, ref: error.ref, leaseId: error.leaseId)
        }
        return try codec.body(Reply.self, from: frames[1], ref: header.id)
    }
}

// MARK: - The connection

extension ControlClient {
    /// The reply to `frames`, through this client's connection, or a connection of its own.
    private func exchange(_ frames: [Data]) async throws -> [Data] {
        guard let connection else {
            return try await Self.withConnection(endpoint: endpoint, timeout: timeout, security: security) {
                try await $0.exchange(frames)
            }
        }
        return try await connection.exchange(frames)
    }
}

extension ControlClient {
    /// One request waiting for its reply. Finished exactly once: by the reply, a timeout, a cancellation, or the
    /// connection closing.
    private final class Exchange: Sendable {
        let frames: [Data]
        let deadline: ContinuousClock.Instant
        private let state = Mutex(State())

        private struct State {
            var continuation: CheckedContinuation<[Data], any Error>?
            var result: Result<[Data], any Error>?
            var isFinished = false
        }

        init(frames: [Data], deadline: ContinuousClock.Instant) {
            self.frames = frames
            self.deadline = deadline
        }

        var isFinished: Bool { state.withLock { $0.isFinished } }

        /// Hands the waiting caller's continuation over; resumed at once when the exchange already finished.
        func wait(_ continuation: CheckedContinuation<[Data], any Error>) {
            let result = state.withLock { state -> Result<[Data], any Error>? in
                if state.result == nil { state.continuation = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }

        func finish(_ result: Result<[Data], any Error>) {
            let continuation = state.withLock { state -> CheckedContinuation<[Data], any Error>? in
                guard !state.isFinished else { return nil }
                state.isFinished = true
                guard let continuation = state.continuation else {
                    state.result = result
                    return nil
                }
                state.continuation = nil
                return continuation
            }
            continuation?.resume(with: result)
        }
    }

    /// One connection at a time to the control socket, serving queued requests in turn.
    private final class Connection: Sendable {
        let endpoint: String
        let timeout: Duration
        let security: SocketSecurity
        private let queue: AsyncStream<Exchange>
        private let enqueue: AsyncStream<Exchange>.Continuation
        private let open = Mutex(Open())

        /// Every exchange not yet finished, so that closing can fail those still queued.
        private struct Open {
            var exchanges: [ObjectIdentifier: Exchange] = [:]
            /// Why requests are refused, once the connection is closed.
            var closed: (any Error)?
        }

        init(endpoint: String, timeout: Duration, security: SocketSecurity) {
            self.endpoint = endpoint
            self.timeout = timeout
            self.security = security
            (queue, enqueue) = AsyncStream.makeStream(of: Exchange.self)
        }

        /// Queues a request and waits for its reply.
        func exchange(_ frames: [Data]) async throws -> [Data] {
            let exchange = Exchange(frames: frames, deadline: ContinuousClock.now.advanced(by: timeout))
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    exchange.wait(continuation)
                    let refusal = open.withLock { open -> (any Error)? in
                        if let closed = open.closed { return closed }
                        // Not when already cancelled: its finish has come and gone.
                        if !exchange.isFinished { open.exchanges[ObjectIdentifier(exchange)] = exchange }
                        return nil
                    }
                    if let refusal {
                        finish(exchange, .failure(refusal))
                    } else if case .terminated = enqueue.yield(exchange) {
                        finish(exchange, .failure(closedFailure))
                    }
                }
            } onCancel: {
                finish(exchange, .failure(CancellationError()))
            }
        }

        private func finish(_ exchange: Exchange, _ result: Result<[Data], any Error>) {
            _ = open.withLock { $0.exchanges.removeValue(forKey: ObjectIdentifier(exchange)) }
            exchange.finish(result)
        }

        private var closedFailure: DroverError { DroverError(.closed, "the connection to the coordinator at \(endpoint) is closed") }

        private var timeoutFailure: DroverError {
            var message =
                "no answer from the coordinator at \(endpoint) within \(timeout): is it running? (start it with `drover coordinator`, or pass --control)"
            if case .curveClient(let keys, _) = security {
                message +=
                    "; or it refused this client's key (\(keys.publicKey.fingerprint)): its public certificate must be in the "
                    + "coordinator's authorized keys, under operators/ or observers/, and --coordinator-key must be the coordinator's"
            }
            return DroverError(.noReply, message)
        }

        /// Serves requests until the task is cancelled, then fails those still waiting.
        func serve() async {
            var failure: any Error = closedFailure
            do {
                try await serveConnections()
            } catch is CancellationError {
            } catch {
                failure = error
            }
            enqueue.finish()
            let left = open.withLock { open in
                open.closed = failure
                defer { open.exchanges.removeAll() }
                return Array(open.exchanges.values)
            }
            for exchange in left { exchange.finish(.failure(failure)) }
        }

        /// Opens a connection when a request comes, and a new one after a request timed out.
        private func serveConnections() async throws {
            let context = try ZMQContext()
            defer { context.terminate() }
            // Not ZMQ_IMMEDIATE: a request waits in the socket until the connection is up, and is sent exactly once.
            let spec = SocketSpec(
                .dealer,
                connect: [endpoint],
                maxMessageSize: Int64(WireLimits.documentBytes) + 4096,
                lingerMilliseconds: 0,
                immediate: false,
                security: security
            )
            var queued = queue.makeAsyncIterator()
            while let first = await queued.next() {
                let (replies, delivery) = AsyncStream.makeStream(of: [Data].self)
                try await SocketLoop.run(name: "drover-control-client", context: context, sockets: [spec], tick: .seconds(1)) { _ in
                    ReplyHandler(continuation: delivery)
                } body: { loop in
                    var next: Exchange? = first
                    while let exchange = next {
                        if !exchange.isFinished {
                            guard ContinuousClock.now < exchange.deadline else {
                                finish(exchange, .failure(timeoutFailure))
                                next = await queued.next()
                                continue
                            }
                            loop.send(OutboundMessage(socket: 0, frames: exchange.frames))
                            // Waited for even when the caller has gone: the reply must not be taken for the next one's.
                            guard let reply = await Self.next(replies, before: exchange.deadline) else {
                                finish(exchange, .failure(Task.isCancelled ? closedFailure : timeoutFailure))
                                return  // out of step: the next request opens a new connection
                            }
                            finish(exchange, .success(reply))
                        }
                        next = await queued.next()
                    }
                }
            }
        }

        /// The next reply, or nil at the deadline, on cancellation, or when the loop stopped.
        private static func next(_ replies: AsyncStream<[Data]>, before deadline: ContinuousClock.Instant) async -> [Data]? {
            await withTaskGroup(of: [Data]?.self) { group in
                group.addTask {
                    var iterator = replies.makeAsyncIterator()
                    return await iterator.next()
                }
                group.addTask {
                    try? await Task.sleep(until: deadline)
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }
    }

    private final class ReplyHandler: SocketLoopHandler {
        let continuation: AsyncStream<[Data]>.Continuation
        init(continuation: AsyncStream<[Data]>.Continuation) { self.continuation = continuation }
        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch { continuation.yield(message.frames) }
        }
        func tick(sender: SocketLoop.Sender) {}
        func stopping(sender: SocketLoop.Sender) { continuation.finish() }
    }
}
