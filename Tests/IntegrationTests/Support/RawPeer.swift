import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Synchronization

/// A bare DEALER on the work socket, for speaking the protocol by hand (well or badly) in tests.
final class RawPeer {
    private let loop: SocketLoop
    private let inbox: Inbox
    private let codec = WireCodec()
    private var seq: UInt64 = 0

    private init(loop: SocketLoop, inbox: Inbox) {
        self.loop = loop
        self.inbox = inbox
    }

    /// Runs `body` with a peer connected to `endpoint`; its socket closes when `body` returns.
    static func with<Value>(endpoint: String, routingID: String? = nil, _ body: (RawPeer) async throws -> Value) async throws -> Value {
        let inbox = Inbox()
        return try await SocketLoop.run(
            name: "raw-peer",
            context: try ZMQContext(),
            sockets: [SocketSpec(.dealer, connect: [endpoint], routingID: routingID, lingerMilliseconds: 0)],
            tick: .seconds(1)
        ) { _ in
            Forwarder(inbox: inbox)
        } body: { loop in
            try await body(RawPeer(loop: loop, inbox: inbox))
        }
    }

    func send(_ frames: [Data]) { loop.send(OutboundMessage(socket: 0, frames: frames)) }

    func send<Body: Encodable>(_ type: MessageType, _ body: Body, seq: UInt64? = nil) {
        self.seq += 1
        send(codec.frames(Header(type: type, id: "raw-\(self.seq)", seq: seq ?? self.seq), body))
    }

    /// The next message, or nil after `timeout`.
    func next(timeout: Duration = .seconds(5)) async -> [Data]? {
        await poll(within: timeout, every: .milliseconds(10)) { inbox.messages.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
    }

    /// Sends until the first reply of the given type arrives (a fresh DEALER drops messages until it is connected).
    func request<Body: Encodable>(_ type: MessageType, _ body: Body, expecting: MessageType? = nil, timeout: Duration = .seconds(10))
        async throws -> (Header, Data)
    {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            send(type, body)
            while let frames = await next(timeout: .milliseconds(300)) {
                guard frames.count == 2, let header = try? codec.header(from: frames[0]) else { continue }
                if expecting == nil || header.type == expecting { return (header, frames[1]) }
            }
        }
        throw TestFailure("no \(expecting?.rawValue ?? "reply") to \(type.rawValue) within \(timeout)")
    }

    private final class Inbox: Sendable {
        let messages = Mutex<[[Data]]>([])
    }

    private final class Forwarder: SocketLoopHandler {
        let inbox: Inbox
        init(inbox: Inbox) { self.inbox = inbox }
        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            inbox.messages.withLock { $0 += batch.map(\.frames) }
        }
        func tick(sender: SocketLoop.Sender) {}
    }
}
