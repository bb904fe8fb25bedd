import Foundation

/// Subscribes to a coordinator's event stream and hands over events in order, noting gaps in the sequence.
public struct EventSubscriber: Sendable {
    /// An event, or news that some were missed (the PUB socket drops when a subscriber falls behind).
    public enum Item: Sendable {
        case event(topic: String, Event)
        /// Events with these sequence numbers never arrived.
        case gap(from: Int64, to: Int64)
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
        ) { [topics] _ in Handler(continuation: continuation, fullStream: topics.contains("")) }
        continuation.onTermination = { _ in loop.stop() }
        return stream
    }

    private final class Handler: SocketLoopHandler {
        let continuation: AsyncStream<Item>.Continuation
        let codec = WireCodec()
        /// Only a subscription to every topic can tell missed events from filtered ones.
        let fullStream: Bool
        var lastSeq: Int64?

        init(continuation: AsyncStream<Item>.Continuation, fullStream: Bool) {
            self.continuation = continuation
            self.fullStream = fullStream
        }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch where message.frames.count == 2 {
                guard let event = try? codec.decode(Event.self, from: message.frames[1]) else { continue }
                if fullStream, let lastSeq, event.seq > lastSeq + 1 {
                    continuation.yield(.gap(from: lastSeq + 1, to: event.seq - 1))
                }
                lastSeq = max(lastSeq ?? 0, event.seq)
                continuation.yield(.event(topic: String(decoding: message.frames[0], as: UTF8.self), event))
            }
        }

        func tick(sender: SocketLoop.Sender) {}
    }
}
