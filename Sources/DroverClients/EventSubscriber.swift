import DroverProtocol
public import DroverTransport
import Foundation

/// Subscribes to a coordinator's event stream and hands over events as they arrive.
///
/// PUB drops events for a subscriber that falls behind; ``EventFollower`` notices the jumps in the sequence and
/// fills them from the log.
public struct EventSubscriber: Sendable {
    /// One event and the topic it came under.
    public struct Item: Sendable {
        public var topic: String
        public var event: Event
    }

    public var endpoint: String
    public var topics: [String]
    /// The subscriber's CURVE keys when the coordinator has keys.
    public var security: SocketSecurity

    public init(endpoint: String, topics: [String] = [""], security: SocketSecurity = .none) {
        self.endpoint = endpoint
        self.topics = topics
        self.security = security
    }

    /// Subscribes, runs `body` with the events as they arrive, and unsubscribes once `body` returns.
    ///
    /// The stream ends when the task is cancelled. Subscribing takes a moment to reach the coordinator, so events
    /// published right after the call may be missed: ``EventFollower`` fills such gaps from the log.
    ///
    /// - Returns: what `body` returned, once the subscription's socket is closed.
    public func withItems<Value>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (AsyncStream<Item>) async throws -> Value
    ) async throws -> Value {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
        return try await SocketLoop.run(
            name: "drover-events",
            context: context,
            sockets: [
                SocketSpec(
                    .sub,
                    connect: [endpoint],
                    subscriptions: topics,
                    highWaterMark: 1_000_000,
                    lingerMilliseconds: 0,
                    security: security
                )
            ],
            tick: .seconds(1)
        ) { _ in
            Handler(continuation: continuation)
        } body: { _ in
            try await body(stream)
        }
    }

    private final class Handler: SocketLoopHandler {
        let continuation: AsyncStream<Item>.Continuation
        let codec = WireCodec()

        init(continuation: AsyncStream<Item>.Continuation) { self.continuation = continuation }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch where message.frames.count == 2 {
                guard let event = try? codec.decode(Event.self, from: message.frames[1]) else { continue }
                continuation.yield(Item(topic: String(decoding: message.frames[0], as: UTF8.self), event: event))
            }
        }

        func tick(sender: SocketLoop.Sender) {}

        func stopping(sender: SocketLoop.Sender) { continuation.finish() }
    }
}
