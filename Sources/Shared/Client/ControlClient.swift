import Foundation

/// A client of the coordinator's control socket: one request, one reply.
///
/// Used by `drover status`, `drover plan submit` and the tests. Each call opens a DEALER, sends, waits for the reply
/// with a timeout, and closes.
public struct ControlClient: Sendable {
    /// Why a request did not get a usable reply.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public var endpoint: String
    public var timeout: Duration

    public init(endpoint: String, timeout: Duration = .seconds(5)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// Sends a request and decodes the reply's body as `Reply`.
    /// - Throws: ``ProtocolError`` when the coordinator answered with an `error`; ``Failure`` on timeout.
    public func request<Body: Encodable & Sendable, Reply: WireBody>(
        _ type: MessageType,
        _ body: Body,
        as _: Reply.Type
    ) async throws -> Reply {
        let frames = try await exchange(WireCodec().frames(Header(type: type, id: "op-\(UUID().uuidString.prefix(8))", seq: 1), body))
        let codec = WireCodec()
        guard frames.count == 2 else { throw Failure(description: "the coordinator sent a reply with \(frames.count) frames") }
        let header = try codec.header(from: frames[0])
        if header.type == .error {
            let error = try codec.body(ErrorBody.self, from: frames[1])
            throw ProtocolError(error.code, error.message, ref: error.ref, leaseId: error.leaseId)
        }
        return try codec.body(Reply.self, from: frames[1], ref: header.id)
    }

    /// Sends the frames once and returns the first reply's frames.
    private func exchange(_ frames: [Data]) async throws -> [Data] {
        let context = try ZMQContext()
        let (replies, continuation) = AsyncStream.makeStream(of: [Data].self)
        // Not ZMQ_IMMEDIATE: the request waits in the socket until the connection is up, and is sent exactly once.
        let spec = SocketSpec(
            .dealer,
            connect: [endpoint],
            maxMessageSize: Int64(WireLimits.documentBytes) + 4096,
            lingerMilliseconds: 0,
            immediate: false
        )
        return try await SocketLoop.run(name: "drover-control-client", context: context, sockets: [spec], tick: .milliseconds(50)) {
            _ in
            ReplyHandler(continuation: continuation)
        } body: { loop in
            loop.send(OutboundMessage(socket: 0, frames: frames))
            let timeout = self.timeout
            let timer = Task {
                try? await Task.sleep(for: timeout)
                continuation.finish()
            }
            defer { timer.cancel() }
            for await reply in replies {
                return reply
            }
            throw Failure(
                description:
                    "no answer from the coordinator at \(endpoint) within \(timeout): is it running? (start it with `drover coordinator`, or pass --control)"
            )
        }
    }

    private final class ReplyHandler: SocketLoopHandler {
        let continuation: AsyncStream<[Data]>.Continuation
        init(continuation: AsyncStream<[Data]>.Continuation) { self.continuation = continuation }
        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch { continuation.yield(message.frames) }
        }
        func tick(sender: SocketLoop.Sender) {}
    }
}
