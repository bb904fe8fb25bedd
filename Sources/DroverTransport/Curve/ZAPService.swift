import Foundation

/// The ZAP handler of a process's CURVE server sockets: a ROUTER at ``ZAPRequest/endpoint`` on a thread of its own,
/// answering each handshake with what `authorize` decides. It must be running before the server sockets bind, and
/// until they close: a server socket with no handler admits nobody (``SocketSecurity/curveServer(_:domain:)``).
public enum ZAPService {
    /// Runs the handler in `context` while `body` runs.
    /// - Parameters:
    ///   - authorize: decides each handshake, on the handler's thread; it must be quick and must not block.
    public static func run<Value>(
        context: ZMQContext,
        isolation: isolated (any Actor)? = #isolation,
        authorize: @escaping @Sendable (ZAPRequest) -> ZAPDecision,
        body: () async throws -> Value
    ) async throws -> Value {
        try await SocketLoop.run(
            name: "drover-zap",
            context: context,
            sockets: [SocketSpec(.router, bind: [ZAPRequest.endpoint], lingerMilliseconds: 0)],
            tick: .seconds(3600)
        ) { _ in
            Handler(authorize: authorize)
        } body: { _ in
            try await body()
        }
    }

    private final class Handler: SocketLoopHandler {
        let authorize: @Sendable (ZAPRequest) -> ZAPDecision

        init(authorize: @escaping @Sendable (ZAPRequest) -> ZAPDecision) { self.authorize = authorize }

        func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
            for message in batch {
                // libzmq only ever sends well-formed requests here; anything else is not answered.
                guard let request = ZAPRequest(frames: message.frames) else { continue }
                try? sender.send(socket: 0, request.reply(authorize(request)))
            }
        }

        func tick(sender: SocketLoop.Sender) {}
    }
}
