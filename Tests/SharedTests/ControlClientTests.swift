import DroverClients
import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Synchronization
import Testing

/// A stand-in for the coordinator's control socket: answers `events` requests with `last_seq` set to the request's
/// `after`, so a reply names its request. Requests whose `after` is in `withheld` are answered only when the next
/// request arrives, and then before it: a reply that comes too late, to whoever asked.
private final class FakeControl: SocketLoopHandler {
    let withheld: Set<Int64>
    let peers: Peers
    let codec = WireCodec()
    private var held: [Data]?

    init(withheld: Set<Int64>, peers: Peers) {
        self.withheld = withheld
        self.peers = peers
    }

    func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
        for message in batch where message.frames.count == 3 {
            let peer = message.frames[0]
            peers.ids.withLock { _ = $0.insert(peer) }
            guard let request = try? codec.body(EventsRequest.self, from: message.frames[2]) else { continue }
            if let held {
                try? sender.send(socket: 0, held)
                self.held = nil
            }
            let reply = [peer] + codec.frames(Header(type: .events, id: "fake", seq: 1), EventsBody(events: [], lastSeq: request.after))
            if withheld.contains(request.after) {
                peers.withheldArrived.withLock { $0 += 1 }
                held = reply
            } else {
                try? sender.send(socket: 0, reply)
            }
        }
    }

    func tick(sender: SocketLoop.Sender) {}
}

/// The distinct connections (routing ids) the fake saw.
private final class Peers: Sendable {
    let ids = Mutex<Set<Data>>([])
    /// Requests whose reply the fake withheld.
    let withheldArrived = Mutex(0)
}

private func withFakeControl<Value>(
    withheld: Set<Int64> = [],
    _ body: (_ endpoint: String, _ peers: Peers) async throws -> Value
) async throws -> Value {
    let peers = Peers()
    return try await SocketLoop.run(
        name: "fake-control",
        context: try ZMQContext(),
        sockets: [SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0)],
        tick: .seconds(1)
    ) { _ in
        FakeControl(withheld: withheld, peers: peers)
    } body: { loop in
        try await body(loop.boundEndpoints[0][0], peers)
    }
}

@Suite(.timeLimit(.minutes(1))) struct ControlClientTests {
    @Test func concurrentRequestsShareOneConnectionAndEachGetsItsOwnReply() async throws {
        try await withFakeControl { endpoint, peers in
            // Every request's time counts from its call, the wait for its turn included: generous, because what is under
            // test is which reply goes to which request, and the whole suite starts at once beside this one.
            let replies = try await ControlClient.withConnection(endpoint: endpoint, timeout: .seconds(50)) { client in
                try await withThrowingTaskGroup(of: (Int64, Int64).self) { group in
                    for after in Int64(1)...50 {
                        group.addTask {
                            let reply = try await client.request(.events, EventsRequest(after: after, limit: 1), as: EventsBody.self)
                            return (after, reply.lastSeq)
                        }
                    }
                    var replies: [(Int64, Int64)] = []
                    for try await reply in group { replies.append(reply) }
                    return replies
                }
            }
            #expect(replies.count == 50)
            #expect(replies.allSatisfy { $0.0 == $0.1 }, "every request got the reply to itself")
            #expect(peers.ids.withLock { $0.count } == 1, "one connection served them all")
        }
    }

    @Test func aLateReplyIsNotTakenForTheNextRequests() async throws {
        try await withFakeControl(withheld: [1]) { endpoint, peers in
            try await ControlClient.withConnection(endpoint: endpoint, timeout: .seconds(2)) { client in
                await #expect(throws: DroverError.self, "the withheld reply does not come in time") {
                    _ = try await client.request(.events, EventsRequest(after: 1, limit: 1), as: EventsBody.self)
                }
                // The late reply to the first request is sent right before this one's: it must not be taken for it.
                let reply = try await client.request(.events, EventsRequest(after: 2, limit: 1), as: EventsBody.self)
                #expect(reply.lastSeq == 2)
                let next = try await client.request(.events, EventsRequest(after: 3, limit: 1), as: EventsBody.self)
                #expect(next.lastSeq == 3)
            }
            // Under load the first connection's request may reach the server only after the second's, or never (the
            // client closed that connection, lingering for nothing): when it came, it came on another connection.
            let replaced = await eventually(within: .seconds(10)) { peers.ids.withLock { $0.count } == 2 }
            #expect(replaced || peers.withheldArrived.withLock { $0 } == 0, "the connection was replaced after the timeout")
        }
    }

    @Test func aCancelledRequestLeavesTheConnectionInStep() async throws {
        try await withFakeControl(withheld: [1]) { endpoint, _ in
            try await ControlClient.withConnection(endpoint: endpoint, timeout: .seconds(5)) { client in
                let waiting = Task { try await client.request(.events, EventsRequest(after: 1, limit: 1), as: EventsBody.self) }
                waiting.cancel()
                await #expect(throws: CancellationError.self) { _ = try await waiting.value }
                let reply = try await client.request(.events, EventsRequest(after: 2, limit: 1), as: EventsBody.self)
                #expect(reply.lastSeq == 2)
            }
        }
    }

    @Test func requestsFailOnceTheConnectionIsClosed() async throws {
        try await withFakeControl { endpoint, _ in
            let client = try await ControlClient.withConnection(endpoint: endpoint) { client in
                let reply = try await client.request(.events, EventsRequest(after: 7, limit: 1), as: EventsBody.self)
                #expect(reply.lastSeq == 7)
                return client
            }
            let outcome = await value(within: .seconds(5)) {
                do {
                    _ = try await client.request(.events, EventsRequest(after: 8, limit: 1), as: EventsBody.self)
                    return "answered"
                } catch let error as DroverError {
                    return error.code.rawValue
                } catch {
                    return "\(error)"
                }
            }
            #expect(outcome == DroverError.Code.closed.rawValue, "\(String(describing: outcome))")
        }
    }

    @Test func aClientWithoutAConnectionConnectsForEachRequest() async throws {
        try await withFakeControl { endpoint, peers in
            let client = ControlClient(endpoint: endpoint)
            for after in Int64(1)...3 {
                let reply = try await client.request(.events, EventsRequest(after: after, limit: 1), as: EventsBody.self)
                #expect(reply.lastSeq == after)
            }
            #expect(peers.ids.withLock { $0.count } == 3)
        }
    }
}
