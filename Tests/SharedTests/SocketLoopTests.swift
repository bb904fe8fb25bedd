import DroverTesting
import DroverTransport
import Foundation
import Testing

/// One socket in a ``SocketLoop`` of its own, with what it receives and fails to send as streams.
private final class Peer: Sendable {
    let loop: SocketLoop
    let received: AsyncStream<[Data]>
    let failures: AsyncStream<ZMQError>
    let ticks: AsyncStream<Void>
    let stopping: AsyncStream<Void>

    init(_ spec: SocketSpec, context: ZMQContext, name: String) async throws {
        let (received, receivedContinuation) = AsyncStream.makeStream(of: [Data].self)
        let (failures, failuresContinuation) = AsyncStream.makeStream(of: ZMQError.self)
        let (ticks, ticksContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (stopping, stoppingContinuation) = AsyncStream.makeStream(of: Void.self)
        self.received = received
        self.failures = failures
        self.ticks = ticks
        self.stopping = stopping
        loop = try await SocketLoop.start(name: name, context: context, sockets: [spec], tick: .milliseconds(20)) { _ in
            Forwarder(
                received: receivedContinuation,
                failures: failuresContinuation,
                ticks: ticksContinuation,
                stopping: stoppingContinuation
            )
        }
    }

    var endpoint: String { loop.boundEndpoints[0][0] }

    func send(_ frames: [String]) {
        loop.send(OutboundMessage(socket: 0, frames: frames.map { Data($0.utf8) }))
    }

    /// Stops the loop and waits (bounded) for its thread to finish.
    func stop() async -> Bool {
        loop.stop()
        let loop = self.loop
        return await value(within: .seconds(10)) { await loop.waitUntilFinished() } != nil
    }

    private final class Forwarder: SocketLoopHandler {
        let received: AsyncStream<[Data]>.Continuation
        let failures: AsyncStream<ZMQError>.Continuation
        let ticks: AsyncStream<Void>.Continuation
        let stopping: AsyncStream<Void>.Continuation

        init(
            received: AsyncStream<[Data]>.Continuation,
            failures: AsyncStream<ZMQError>.Continuation,
            ticks: AsyncStream<Void>.Continuation,
            stopping: AsyncStream<Void>.Continuation
        ) {
            self.received = received
            self.failures = failures
            self.ticks = ticks
            self.stopping = stopping
        }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch where message.socket == 0 { received.yield(message.frames) }
        }

        func tick(sender: SocketLoop.Sender) { ticks.yield() }

        func sendFailed(_ message: OutboundMessage, error: ZMQError, sender: SocketLoop.Sender) { failures.yield(error) }

        func stopping(sender: SocketLoop.Sender) {
            stopping.yield()
            stopping.finish()
            received.finish()
            failures.finish()
        }
    }
}

private func text(_ frames: [Data]) -> [String] { frames.map { String(decoding: $0, as: UTF8.self) } }

@Suite(.timeLimit(.minutes(1))) struct SocketLoopTests {
    enum Transport: String, CaseIterable, Sendable { case tcp, ipc }

    @Test(arguments: Transport.allCases) func routerAndDealerExchangeMessages(transport: Transport) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bindAt = transport == .tcp ? "tcp://127.0.0.1:*" : "ipc://\(directory.path)/router.sock"
        let context = try ZMQContext()

        let router = try await Peer(SocketSpec(.router, bind: [bindAt], lingerMilliseconds: 0), context: context, name: "test-router")
        if transport == .tcp {
            #expect(router.endpoint.hasPrefix("tcp://127.0.0.1:"))
            #expect(!router.endpoint.hasSuffix(":*"), "the wildcard port is resolved: \(router.endpoint)")
        } else {
            #expect(router.endpoint == bindAt)
            #expect(FileManager.default.fileExists(atPath: "\(directory.path)/router.sock"))
        }
        let dealer = try await Peer(
            SocketSpec(.dealer, connect: [router.endpoint], routingID: "dealer-1", lingerMilliseconds: 0),
            context: context,
            name: "test-dealer"
        )

        // ZMQ_IMMEDIATE: the dealer drops what it sends before its connection is up, so say hello until heard.
        let resend = Task {
            while !Task.isCancelled {
                dealer.send(["hello", "there"])
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let hello = await next(router.received, within: .seconds(20)).map(text)
        resend.cancel()
        #expect(hello == ["dealer-1", "hello", "there"], "the ROUTER sees the routing id, then the frames")

        // The ROUTER addresses the DEALER by its routing id; the DEALER sees the frames without the envelope.
        router.send(["dealer-1", "ping", "", "3"])
        let ping = await next(dealer.received, within: .seconds(10)).map(text)
        #expect(ping == ["ping", "", "3"], "frames, empty ones included, arrive as sent")

        // Many messages, sent from another thread, arrive whole and in order.
        for index in 0..<500 { dealer.send(["seq", "\(index)"]) }
        var received: [Int] = []
        while received.count < 500 {
            let frames = await next(router.received, within: .seconds(10)) { text($0).dropFirst().first == "seq" }
            guard let frames else { break }
            let parts = text(frames)
            #expect(parts.count == 3)
            received.append(Int(parts[2]) ?? -1)
        }
        #expect(received == Array(0..<500))

        #expect(await dealer.stop())
        #expect(await router.stop())
        #expect(await next(router.stopping, within: .seconds(1)) != nil, "the handler was told before the sockets closed")
        if transport == .ipc {
            #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/router.sock"), "the ipc file is removed")
        }
    }

    @Test func routerReportsAnUnknownPeer() async throws {
        let context = try ZMQContext()
        let router = try await Peer(
            SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0),
            context: context,
            name: "test-router"
        )
        router.send(["nobody", "hello"])
        let failure = await next(router.failures, within: .seconds(10))
        #expect(failure?.isHostUnreachable == true, "ZMQ_ROUTER_MANDATORY makes unroutable messages fail: \(String(describing: failure))")
        #expect(await router.stop())
    }

    @Test func tickRunsRepeatedly() async throws {
        let context = try ZMQContext()
        let router = try await Peer(
            SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0),
            context: context,
            name: "test-ticks"
        )
        for _ in 0..<3 {
            #expect(await next(router.ticks, within: .seconds(5)) != nil)
        }
        #expect(await router.stop())
    }

    @Test func startFailsWhenTheEndpointIsTaken() async throws {
        let context = try ZMQContext()
        let first = try await Peer(
            SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0),
            context: context,
            name: "test-first"
        )
        await #expect(throws: ZMQError.self) {
            _ = try await Peer(SocketSpec(.router, bind: [first.endpoint], lingerMilliseconds: 0), context: context, name: "test-second")
        }
        #expect(await first.stop())
    }

    @Test func handlerThatThrowsFailsTheStart() async throws {
        struct Refused: Error {}
        let context = try ZMQContext()
        await #expect(throws: Refused.self) {
            _ = try await SocketLoop.start(
                name: "test-refused",
                context: context,
                sockets: [SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0)],
                tick: .seconds(1)
            ) { _ -> any SocketLoopHandler in throw Refused() }
        }
    }
}
