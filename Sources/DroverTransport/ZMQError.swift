import CZeroMQ

/// An error from libzmq: the call that failed and the `errno` it left.
public struct ZMQError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The libzmq call or step that failed, for example `"bind tcp://127.0.0.1:7100"`.
    public var operation: String
    /// The `errno` value libzmq reported.
    public var code: Int32

    public init(_ operation: String, code: Int32 = zmq_errno()) {
        self.operation = operation
        self.code = code
    }

    /// libzmq's text for ``code``.
    public var reason: String { String(cString: zmq_strerror(code)) }

    public var description: String { "\(operation): \(reason)" }

    /// The message could not be routed: the peer is not (or no longer) connected.
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }
    /// The operation would block (queue full, or nothing to read).
    public var isWouldBlock: Bool { code == EAGAIN }
}
