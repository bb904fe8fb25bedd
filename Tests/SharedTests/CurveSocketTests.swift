import DroverTesting
import DroverTransport
import Foundation
import Synchronization
import Testing

/// CURVE server sockets with the ZAP handler, over real tcp: who gets in, and what their messages carry.
@Suite(.timeLimit(.minutes(1))) struct CurveSocketTests {
    @Test func anAdmittedKeysMessagesCarryItsUserIDAndAnUnknownKeyNeverGetsIn() async throws {
        let server = try CurveKey.pair()
        let known = try CurveKey.pair()
        let unknown = try CurveKey.pair()
        let asked = Mutex<[ZAPRequest]>([])
        let context = try ZMQContext()
        try await ZAPService.run(context: context) { request in
            asked.withLock { $0.append(request) }
            return request.clientKey == known.publicKey ? .admit(userID: "user-\(request.domain)") : .refuse(reason: "unknown key")
        } body: {
            try await Peer.with(
                SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0, security: .curveServer(server, domain: "work")),
                context: context,
                name: "curve-server"
            ) { router in
                // The unknown key first: had it got in, its message would be the first to arrive.
                try await Peer.with(
                    SocketSpec(
                        .dealer,
                        connect: [router.endpoint],
                        lingerMilliseconds: 0,
                        security: .curveClient(unknown, server: server.publicKey)
                    ),
                    context: context,
                    name: "stranger"
                ) { stranger in
                    stranger.send(["let me in"])
                    #expect(await eventually(within: .seconds(10)) { asked.withLock { $0.contains { $0.clientKey == unknown.publicKey } } })
                }
                // Not `immediate`: "hello" waits for the handshake instead of being refused before it.
                try await Peer.with(
                    SocketSpec(
                        .dealer,
                        connect: [router.endpoint],
                        lingerMilliseconds: 0,
                        immediate: false,
                        security: .curveClient(known, server: server.publicKey)
                    ),
                    context: context,
                    name: "friend"
                ) { friend in
                    friend.send(["hello"])
                    let frames = try #require(await next(router.received, within: .seconds(10)))
                    #expect(String(decoding: frames.last!, as: UTF8.self) == "hello")
                    #expect(await next(router.userIDs, within: .seconds(1)) == "user-work")
                }
            }
        }
        let requests = asked.withLock { $0 }
        #expect(requests.allSatisfy { $0.domain == "work" && $0.mechanism == "CURVE" && $0.address == "127.0.0.1" })
    }

    /// A key's connections cut from the server side, two clients sharing the key: each reconnect goes through the
    /// ZAP handler again, so an admitted key carries on and a revoked one is kept out.
    @Test(arguments: SocketLoopTests.Transport.allCases)
    func cutConnectionsHandshakeAgainAndARevokedKeyStaysOut(transport: SocketLoopTests.Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try CurveKey.pair()
        let shared = try CurveKey.pair()
        let revoked = Atomic<Bool>(false)
        let asked = Atomic<Int>(0)
        let context = try ZMQContext()
        let bindAt = transport == .tcp ? "tcp://127.0.0.1:*" : "ipc://\(directory.path)/server.sock"
        try await ZAPService.run(context: context) { request in
            asked.add(1, ordering: .relaxed)
            return revoked.load(ordering: .relaxed) ? .refuse(reason: "revoked") : .admit(userID: "shared")
        } body: {
            try await Peer.with(
                SocketSpec(.router, bind: [bindAt], lingerMilliseconds: 0, security: .curveServer(server, domain: "work")),
                context: context,
                name: "curve-server"
            ) { router in
                // Not `immediate`: what is sent while a connection is down waits for the next one.
                let client = SocketSpec(
                    .dealer,
                    connect: [router.endpoint],
                    lingerMilliseconds: 0,
                    immediate: false,
                    security: .curveClient(shared, server: server.publicKey)
                )
                try await Peer.with(client, context: context, name: "friend") { friend in
                    try await Peer.with(client, context: context, name: "twin") { twin in
                        func lastFrames(_ count: Int) async -> Set<String> {
                            var texts: Set<String> = []
                            for _ in 0..<count {
                                if let frames = await next(router.received, within: .seconds(10)) {
                                    texts.insert(String(decoding: frames.last!, as: UTF8.self))
                                }
                            }
                            return texts
                        }
                        twin.send(["twin here"])
                        #expect(await lastFrames(1) == ["twin here"])
                        friend.send([Peer.cutMe])
                        #expect(await lastFrames(1) == [Peer.cutMe])
                        #expect(await next(router.cuts, within: .seconds(10)) == [0, 0], "both connections of the key")

                        friend.send(["friend again"])
                        twin.send(["twin again"])
                        #expect(await lastFrames(2) == ["friend again", "twin again"])
                        #expect(asked.load(ordering: .relaxed) == 4, "each reconnect was asked about again")

                        revoked.store(true, ordering: .relaxed)
                        friend.send([Peer.cutMe])
                        #expect(await lastFrames(1) == [Peer.cutMe], "the open connection still carries it")
                        #expect(await next(router.cuts, within: .seconds(10)) == [0, 0])
                        friend.send(["after the revocation"])
                        twin.send(["after the revocation"])
                        #expect(await eventually(within: .seconds(10)) { asked.load(ordering: .relaxed) >= 6 })
                        #expect(await next(router.received, within: .seconds(1)) == nil, "the revoked key is kept out")
                    }
                }
            }
        }
    }

    /// A PUB cannot tell its subscribers' keys apart, so all its connections are cut: a subscriber still admitted
    /// reconnects and subscribes again by itself.
    @Test func aCutSubscriberReconnectsAndSubscribesAgain() async throws {
        let server = try CurveKey.pair()
        let asked = Atomic<Int>(0)
        let context = try ZMQContext()
        try await ZAPService.run(context: context) { _ in
            asked.add(1, ordering: .relaxed)
            return .admit(userID: "subscriber")
        } body: {
            try await Peer.with(
                SocketSpec(.pub, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0, security: .curveServer(server, domain: "events")),
                context: context,
                name: "curve-pub"
            ) { publisher in
                try await Peer.with(
                    SocketSpec(
                        .sub,
                        connect: [publisher.endpoint],
                        subscriptions: ["plan"],
                        lingerMilliseconds: 0,
                        security: .curveClient(try CurveKey.pair(), server: server.publicKey)
                    ),
                    context: context,
                    name: "subscriber"
                ) { subscriber in
                    // Published until heard: a subscription takes a moment to reach the publisher.
                    func heard(_ text: String) async -> Bool {
                        let publishing = Task {
                            while !Task.isCancelled {
                                publisher.send(["plan", text])
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        defer { publishing.cancel() }
                        let frames = await next(subscriber.received, within: .seconds(10)) { frames in
                            String(decoding: frames.last!, as: UTF8.self) == text
                        }
                        return frames != nil
                    }
                    #expect(await heard("before"))
                    publisher.cutAll()
                    #expect(await next(publisher.cuts, within: .seconds(10)) == [-1])
                    #expect(await eventually(within: .seconds(10)) { asked.load(ordering: .relaxed) == 2 }, "it handshook again")
                    #expect(await heard("after"))
                }
            }
        }
    }

    /// Without a ZAP handler a CURVE server admits nobody (libzmq's default would admit everybody).
    @Test func aServerWithNoHandlerAdmitsNobody() async throws {
        let server = try CurveKey.pair()
        let context = try ZMQContext()
        try await Peer.with(
            SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0, security: .curveServer(server, domain: "work")),
            context: context,
            name: "curve-server"
        ) { router in
            try await Peer.with(
                SocketSpec(
                    .dealer,
                    connect: [router.endpoint],
                    lingerMilliseconds: 0,
                    security: .curveClient(try CurveKey.pair(), server: server.publicKey)
                ),
                context: context,
                name: "client"
            ) { client in
                client.send(["hello"])
                #expect(await next(router.received, within: .seconds(2)) == nil)
            }
        }
    }

    /// A client that has the wrong idea of the server's key cannot talk to it.
    @Test func aClientWithTheWrongServerKeyIsNotHeard() async throws {
        let server = try CurveKey.pair()
        let client = try CurveKey.pair()
        let context = try ZMQContext()
        try await ZAPService.run(context: context) { _ in
            .admit(userID: "anyone")
        } body: {
            try await Peer.with(
                SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0, security: .curveServer(server, domain: "control")),
                context: context,
                name: "curve-server"
            ) { router in
                try await Peer.with(
                    SocketSpec(
                        .dealer,
                        connect: [router.endpoint],
                        lingerMilliseconds: 0,
                        security: .curveClient(client, server: try CurveKey.pair().publicKey)
                    ),
                    context: context,
                    name: "client"
                ) { peer in
                    peer.send(["hello"])
                    #expect(await next(router.received, within: .seconds(2)) == nil)
                }
            }
        }
    }
}
