import CZeroMQ

/// How to make one socket of a ``SocketLoop``: its type, where it binds or connects, and its options.
public struct SocketSpec: Sendable {
    public var kind: ZMQSocket.Kind
    public var bind: [String]
    public var connect: [String]
    /// A stable routing id (DEALER), so that the ROUTER can address the peer and it can take its id back on reconnect.
    public var routingID: String?
    /// SUB prefixes; an empty string subscribes to everything.
    public var subscriptions: [String]
    /// Inbound messages larger than this are dropped by libzmq and the peer disconnected (`ZMQ_MAXMSGSIZE`).
    public var maxMessageSize: Int64
    /// Queue limits in messages; 0 is unbounded.
    public var highWaterMark: Int32
    /// How long unsent messages are kept after close, in milliseconds.
    public var lingerMilliseconds: Int32
    /// DEALER: queue messages only to completed connections (`ZMQ_IMMEDIATE`). A worker wants this (nothing
    /// piles up for a coordinator that is not there); a one-shot client does not (its request waits for the
    /// connection instead of being dropped).
    public var immediate: Bool
    /// How peers are authenticated: none, or CURVE.
    public var security: SocketSecurity

    public init(
        _ kind: ZMQSocket.Kind,
        bind: [String] = [],
        connect: [String] = [],
        routingID: String? = nil,
        subscriptions: [String] = [],
        maxMessageSize: Int64 = 4 << 20,
        highWaterMark: Int32 = 100_000,
        lingerMilliseconds: Int32 = 200,
        immediate: Bool = true,
        security: SocketSecurity = .none
    ) {
        self.kind = kind
        self.bind = bind
        self.connect = connect
        self.routingID = routingID
        self.subscriptions = subscriptions
        self.maxMessageSize = maxMessageSize
        self.highWaterMark = highWaterMark
        self.lingerMilliseconds = lingerMilliseconds
        self.immediate = immediate
        self.security = security
    }

    /// Makes and sets up the socket; returns it with the endpoints it actually bound.
    func make(in context: ZMQContext) throws -> (ZMQSocket, [String]) {
        let socket = try ZMQSocket(context, kind: kind)
        try socket.set(ZMQ_LINGER, lingerMilliseconds)
        try socket.set(ZMQ_MAXMSGSIZE, maxMessageSize)
        try socket.set(ZMQ_SNDHWM, highWaterMark)
        try socket.set(ZMQ_RCVHWM, highWaterMark)
        switch kind {
        case .router:
            // Unroutable messages fail loudly instead of vanishing, and a reconnecting peer takes its id back.
            try socket.set(ZMQ_ROUTER_MANDATORY, Int32(1))
            try socket.set(ZMQ_ROUTER_HANDOVER, Int32(1))
        case .dealer:
            try socket.set(ZMQ_IMMEDIATE, Int32(immediate ? 1 : 0))
            // Transport-level keepalive, so a dead TCP peer is noticed and the reconnect begins.
            try socket.set(ZMQ_HEARTBEAT_IVL, Int32(1000))
            try socket.set(ZMQ_HEARTBEAT_TIMEOUT, Int32(3000))
            try socket.set(ZMQ_RECONNECT_IVL, Int32(100))
            try socket.set(ZMQ_RECONNECT_IVL_MAX, Int32(1000))
        case .pub, .sub:
            break
        }
        try security.apply(to: socket)
        if let routingID { try socket.set(ZMQ_ROUTING_ID, Array(routingID.utf8)) }
        for prefix in subscriptions { try socket.set(ZMQ_SUBSCRIBE, Array(prefix.utf8)) }
        var bound: [String] = []
        for endpoint in bind {
            try socket.bind(endpoint)
            bound.append(socket.lastEndpoint)
        }
        for endpoint in connect { try socket.connect(endpoint) }
        return (socket, bound)
    }
}
