import DroverTesting
import DroverTransport
import Foundation
import Synchronization
import Testing

/// One socket in a ``SocketLoop`` of its own, with what it receives and fails to send as streams.
final class Peer: Sendable {
    let loop: SocketLoop
    let received: AsyncStream<[Data]>
    /// What it receives with the sender's user id (CURVE servers).
    let userIDs: AsyncStream<String?>
    let failures: AsyncStream<ZMQError>
    let ticks: AsyncStream<Void>
    let stopping: AsyncStream<Void>
    /// The sockets ``SocketLoop/Sender/disconnect(userID:)`` cut, each time a message ends with ``cutMe``.
    let cuts: AsyncStream<[Int]>

    /// A message whose last frame is this makes the peer cut the sender's connection.
    static let cutMe = "cut my connection"

    /// Set from the test, taken by the loop's next tick.
    final class Request: Sendable {
        let pending = Atomic<Bool>(false)
    }

    private let cutAllRequested: Request

    /// Cuts every connection of the socket at the loop's next tick; the count comes out of ``cuts`` as `[-count]`.
    func cutAll() { cutAllRequested.pending.store(true, ordering: .relaxed) }

    private init(loop: SocketLoop, streams: Streams) {
        self.loop = loop
        received = streams.received.0
        userIDs = streams.userIDs.0
        failures = streams.failures.0
        ticks = streams.ticks.0
        stopping = streams.stopping.0
        cuts = streams.cuts.0
        cutAllRequested = streams.cutAllRequested
    }

    /// The streams and their continuations, made before the loop so its handler can feed them.
    private struct Streams {
        let received = AsyncStream.makeStream(of: [Data].self)
        let userIDs = AsyncStream.makeStream(of: String?.self)
        let failures = AsyncStream.makeStream(of: ZMQError.self)
        let ticks = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let stopping = AsyncStream.makeStream(of: Void.self)
        let cuts = AsyncStream.makeStream(of: [Int].self)
        let cutAllRequested = Request()
    }

    /// Runs `body` with a peer whose loop runs until `body` returns.
    @discardableResult
    static func with<Value>(
        _ spec: SocketSpec,
        context: ZMQContext,
        name: String,
        _ body: (Peer) async throws -> Value
    ) async throws -> Value {
        let streams = Streams()
        let (received, failures, ticks, stopping) = (streams.received.1, streams.failures.1, streams.ticks.1, streams.stopping.1)
        return try await SocketLoop.run(name: name, context: context, sockets: [spec], tick: .milliseconds(20)) { _ in
            Forwarder(
                received: received,
                userIDs: streams.userIDs.1,
                failures: failures,
                ticks: ticks,
                stopping: stopping,
                cuts: streams.cuts.1,
                cutAllRequested: streams.cutAllRequested
            )
        } body: { loop in
            try await body(Peer(loop: loop, streams: streams))
        }
    }

    var endpoint: String { loop.boundEndpoints[0][0] }

    func send(_ frames: [String]) {
        loop.send(OutboundMessage(socket: 0, frames: frames.map { Data($0.utf8) }))
    }

    private final class Forwarder: SocketLoopHandler {
        let received: AsyncStream<[Data]>.Continuation
        let userIDs: AsyncStream<String?>.Continuation
        let failures: AsyncStream<ZMQError>.Continuation
        let ticks: AsyncStream<Void>.Continuation
        let stopping: AsyncStream<Void>.Continuation
        let cuts: AsyncStream<[Int]>.Continuation
        let cutAllRequested: Request

        init(
            received: AsyncStream<[Data]>.Continuation,
            userIDs: AsyncStream<String?>.Continuation,
            failures: AsyncStream<ZMQError>.Continuation,
            ticks: AsyncStream<Void>.Continuation,
            stopping: AsyncStream<Void>.Continuation,
            cuts: AsyncStream<[Int]>.Continuation,
            cutAllRequested: Request
        ) {
            self.received = received
            self.userIDs = userIDs
            self.failures = failures
            self.ticks = ticks
            self.stopping = stopping
            self.cuts = cuts
            self.cutAllRequested = cutAllRequested
        }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch where message.socket == 0 {
                received.yield(message.frames)
                userIDs.yield(message.userID)
                if let userID = message.userID, message.frames.last == Data(Peer.cutMe.utf8) {
                    cuts.yield(sender.disconnect(userID: userID))
                }
            }
        }

        func tick(sender: SocketLoop.Sender) {
            if cutAllRequested.pending.exchange(false, ordering: .relaxed) { cuts.yield([-sender.disconnectAll(socket: 0)]) }
            ticks.yield()
        }

        func sendFailed(_ message: OutboundMessage, error: ZMQError, sender: SocketLoop.Sender) { failures.yield(error) }

        func stopping(sender: SocketLoop.Sender) {
            stopping.yield()
            stopping.finish()
            received.finish()
            userIDs.finish()
            failures.finish()
            cuts.finish()
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

        let stopping = try await Peer.with(
            SocketSpec(.router, bind: [bindAt], lingerMilliseconds: 0),
            context: context,
            name: "test-router"
        ) {
            router in
            if transport == .tcp {
                #expect(router.endpoint.hasPrefix("tcp://127.0.0.1:"))
                #expect(!router.endpoint.hasSuffix(":*"), "the wildcard port is resolved: \(router.endpoint)")
            } else {
                #expect(router.endpoint == bindAt)
                #expect(FileManager.default.fileExists(atPath: "\(directory.path)/router.sock"))
            }
            try await Peer.with(
                SocketSpec(.dealer, connect: [router.endpoint], routingID: "dealer-1", lingerMilliseconds: 0),
                context: context,
                name: "test-dealer"
            ) { dealer in
                try await exchange(router: router, dealer: dealer)
            }
            return router.stopping
        }
        #expect(await next(stopping, within: .seconds(1)) != nil, "the handler was told before the sockets closed")
        if transport == .ipc {
            #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/router.sock"), "the ipc file is removed")
        }
    }

    private func exchange(router: Peer, dealer: Peer) async throws {
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
    }

    @Test func routerReportsAnUnknownPeer() async throws {
        let context = try ZMQContext()
        try await Peer.with(SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0), context: context, name: "test-router")
        {
            router in
            router.send(["nobody", "hello"])
            let failure = await next(router.failures, within: .seconds(10))
            #expect(
                failure?.isHostUnreachable == true,
                "ZMQ_ROUTER_MANDATORY makes unroutable messages fail: \(String(describing: failure))"
            )
        }
    }

    @Test func tickRunsRepeatedly() async throws {
        let context = try ZMQContext()
        try await Peer.with(SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0), context: context, name: "test-ticks") {
            router in
            for _ in 0..<3 {
                #expect(await next(router.ticks, within: .seconds(5)) != nil)
            }
        }
    }

    @Test func startFailsWhenTheEndpointIsTaken() async throws {
        let context = try ZMQContext()
        try await Peer.with(SocketSpec(.router, bind: ["tcp://127.0.0.1:*"], lingerMilliseconds: 0), context: context, name: "test-first") {
            first in
            await #expect(throws: ZMQError.self) {
                try await Peer.with(
                    SocketSpec(.router, bind: [first.endpoint], lingerMilliseconds: 0),
                    context: context,
                    name: "test-second"
                ) {
                    _ in Issue.record("the body ran though the start failed")
                }
            }
        }
    }

    @Test func handlerThatThrowsFailsTheStart() async throws {
        struct Refused: Error {}
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let context = try ZMQContext()
        await #expect(throws: Refused.self) {
            try await SocketLoop.run(
                name: "test-refused",
                context: context,
                sockets: [SocketSpec(.router, bind: ["ipc://\(directory.path)/refused.sock"], lingerMilliseconds: 0)],
                tick: .seconds(1)
            ) { _ -> any SocketLoopHandler in
                throw Refused()
            } body: { _ in
                Issue.record("the body ran though the start failed")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/refused.sock"), "the ipc file is removed")
    }

    // MARK: - The scoped run

    /// A handler that reports its stopping and the thread it runs on.
    private final class Watcher: SocketLoopHandler {
        let stopped: AsyncStream<Void>.Continuation
        let ticks: AsyncStream<Void>.Continuation
        let failWith: (any Error)?
        let loop: SocketLoop

        init(loop: SocketLoop, stopped: AsyncStream<Void>.Continuation, ticks: AsyncStream<Void>.Continuation, failWith: (any Error)? = nil)
        {
            self.loop = loop
            self.stopped = stopped
            self.ticks = ticks
            self.failWith = failWith
        }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {}

        func tick(sender: SocketLoop.Sender) {
            ticks.yield()
            if let failWith { loop.fail(failWith) }
        }

        func stopping(sender: SocketLoop.Sender) {
            stopped.yield()
            stopped.finish()
        }
    }

    @Test func runReturnsOnceClosedWhenTheBodyReturns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = "\(directory.path)/body.sock"
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let answer = try await SocketLoop.run(
            name: "test-body",
            context: try ZMQContext(),
            sockets: [SocketSpec(.router, bind: ["ipc://\(socket)"], lingerMilliseconds: 0)],
            tick: .milliseconds(20)
        ) { loop in
            Watcher(loop: loop, stopped: stop, ticks: tick)
        } body: { loop in
            #expect(loop.boundEndpoints == [["ipc://\(socket)"]], "the body sees the bound endpoints")
            #expect(FileManager.default.fileExists(atPath: socket))
            #expect(await next(ticks, within: .seconds(5)) != nil, "the loop runs while the body does")
            return 42
        }
        #expect(answer == 42, "the run returns what the body returned")
        #expect(await next(stopped, within: .seconds(1)) != nil, "the handler was stopped before the run returned")
        #expect(!FileManager.default.fileExists(atPath: socket), "the ipc file is removed before the run returns")
    }

    @Test func runRethrowsTheBodysErrorOnceClosed() async throws {
        struct Thrown: Error {}
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = "\(directory.path)/thrown.sock"
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let (_, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await #expect(throws: Thrown.self) {
            try await SocketLoop.run(
                name: "test-thrown",
                context: try ZMQContext(),
                sockets: [SocketSpec(.router, bind: ["ipc://\(socket)"], lingerMilliseconds: 0)],
                tick: .milliseconds(20)
            ) { loop in
                Watcher(loop: loop, stopped: stop, ticks: tick)
            } body: { _ in
                throw Thrown()
            }
        }
        #expect(await next(stopped, within: .seconds(1)) != nil, "the handler was stopped before the run returned")
        #expect(!FileManager.default.fileExists(atPath: socket), "the ipc file is removed")
    }

    @Test func runStopsWhenTheTaskIsCancelled() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = "\(directory.path)/cancelled.sock"
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (closed, close) = AsyncStream.makeStream(of: Bool.self)
        let task = Task {
            defer { close.finish() }
            try await SocketLoop.run(
                name: "test-cancelled",
                context: try ZMQContext(),
                sockets: [SocketSpec(.router, bind: ["ipc://\(socket)"], lingerMilliseconds: 0)],
                tick: .milliseconds(20)
            ) { loop in
                Watcher(loop: loop, stopped: stop, ticks: tick)
            } body: { loop in
                // Only a stop ends this wait: the cancellation must stop the loop.
                await loop.waitUntilFinished()
            }
            close.yield(FileManager.default.fileExists(atPath: socket))
        }
        #expect(await next(ticks, within: .seconds(5)) != nil, "the loop runs")
        task.cancel()
        let fileLeft = await next(closed, within: .seconds(10))
        #expect(fileLeft == false, "the run returned, with the ipc file removed")
        #expect(await next(stopped, within: .seconds(1)) != nil, "the handler was stopped")
        _ = try await task.value
    }

    @Test func runEndsWithAHandlersFailure() async throws {
        struct Broken: Error {}
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = "\(directory.path)/failed.sock"
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let (_, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let outcome = await value(within: .seconds(10)) {
            do {
                try await SocketLoop.run(
                    name: "test-failed",
                    context: try ZMQContext(),
                    sockets: [SocketSpec(.router, bind: ["ipc://\(socket)"], lingerMilliseconds: 0)],
                    tick: .milliseconds(20)
                ) { loop in
                    Watcher(loop: loop, stopped: stop, ticks: tick, failWith: Broken())
                } body: { loop in
                    await loop.waitUntilFinished()
                }
                return "returned"
            } catch is Broken {
                return "threw the handler's failure"
            } catch {
                return "threw \(error)"
            }
        }
        #expect(outcome == "threw the handler's failure")
        #expect(await next(stopped, within: .seconds(1)) != nil, "the handler was stopped before the run returned")
        #expect(!FileManager.default.fileExists(atPath: socket), "the ipc file is removed")
    }
}
