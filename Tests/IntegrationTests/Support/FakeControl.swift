import DroverProtocol
import DroverTransport
import Foundation
import Synchronization

/// A stand-in for a coordinator's control socket that answers each request with what `answer` returns for its
/// type and body, and keeps every request, for testing the command line against replies the coordinator will give.
/// Beside it, an event socket (PUB) that publishes what the test hands to ``publish(_:)``.
final class FakeControl: Sendable {
    /// A reply: a body of the request's type, or an `error`.
    enum Reply {
        case body(any Encodable & Sendable)
        case error(ProtocolError)
    }

    /// The requests received, as type and body JSON.
    let requests = Mutex<[(MessageType, String)]>([])
    private let loop = Mutex<SocketLoop?>(nil)
    /// The event endpoint.
    var events: String { eventsEndpoint.withLock { $0 } }
    private let eventsEndpoint = Mutex("")

    /// Publishes `event` on the event socket, under its topic.
    func publish(_ event: Event) {
        loop.withLock { $0 }?.send(OutboundMessage(socket: 1, frames: [Data(event.topic.utf8), Data(event.json.utf8)]))
    }

    /// Runs `body` with a fake bound to a free tcp port on 127.0.0.1; `answer` makes each reply.
    static func with<Value>(
        answer: @escaping @Sendable (MessageType, Data) -> Reply,
        _ body: (_ endpoint: String, _ fake: FakeControl) async throws -> Value
    ) async throws -> Value {
        let fake = FakeControl()
        return try await SocketLoop.run(
            name: "fake-control",
            context: try ZMQContext(),
            sockets: [
                SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0),
                SocketSpec(.pub, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0),
            ],
            tick: .seconds(1)
        ) { _ in
            Handler(fake: fake, answer: answer)
        } body: { loop in
            fake.loop.withLock { $0 = loop }
            fake.eventsEndpoint.withLock { $0 = loop.boundEndpoints[1][0] }
            defer { fake.loop.withLock { $0 = nil } }
            return try await body(loop.boundEndpoints[0][0], fake)
        }
    }

    /// The bodies of the requests of `type`, decoded.
    func bodies<Body: Decodable>(_ type: MessageType, as _: Body.Type) -> [Body] {
        requests.withLock { $0 }.filter { $0.0 == type }.compactMap { try? JSONDecoder().decode(Body.self, from: Data($0.1.utf8)) }
    }

    private final class Handler: SocketLoopHandler {
        let fake: FakeControl
        let answer: @Sendable (MessageType, Data) -> Reply
        let codec = WireCodec()

        init(fake: FakeControl, answer: @escaping @Sendable (MessageType, Data) -> Reply) {
            self.fake = fake
            self.answer = answer
        }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch where message.socket == 0 && message.frames.count == 3 {
                guard let header = try? codec.header(from: message.frames[1]) else { continue }
                fake.requests.withLock { $0.append((header.type, String(decoding: message.frames[2], as: UTF8.self))) }
                let reply: [Data]
                switch answer(header.type, message.frames[2]) {
                case .body(let body):
                    reply = codec.frames(Header(type: header.type, id: "fake", seq: 1), body)
                case .error(let error):
                    reply = codec.frames(Header(type: .error, id: "fake", seq: 1), error.body)
                }
                try? sender.send(socket: 0, [message.frames[0]] + reply)
            }
        }

        func tick(sender: SocketLoop.Sender) {}
    }
}
