import DroverProtocol
import DroverTransport
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

    public init(endpoint: String, topics: [String] = [""]) {
        self.endpoint = endpoint
        self.topics = topics
    }

    /// Events as they arrive, until the task is cancelled.
    public func items() async throws -> AsyncStream<Item> {
        let context = try ZMQContext()
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
        let loop = try await SocketLoop.start(
            name: "drover-events",
            context: context,
            sockets: [SocketSpec(.sub, connect: [endpoint], subscriptions: topics, highWaterMark: 1_000_000, lingerMilliseconds: 0)],
            tick: .seconds(1)
        ) { _ in Handler(continuation: continuation) }
        continuation.onTermination = { _ in loop.stop() }
        return stream
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
    }
}
