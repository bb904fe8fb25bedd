import CZeroMQ
import Synchronization

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// One per process. libzmq documents contexts as thread-safe, which is the invariant behind `@unchecked Sendable`;
/// this is the only unchecked type of the ZeroMQ layer. The context is terminated when the last reference goes, and
/// every ``ZMQSocket`` keeps one, so termination can never wait on an open socket.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let terminated = Mutex(false)

    /// Creates a context.
    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads; one is right for all but the busiest processes.
    ///   - maxSockets: how many sockets the context may hold (libzmq's default is 1023).
    public init(ioThreads: Int32 = 1, maxSockets: Int32 = 1023) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
        zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
        zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, maxSockets)
        self.handle = handle
    }

    deinit {
        terminate()
    }

    /// Waits until messages still queued on closed sockets are sent (each socket's linger bounds the wait), then
    /// frees the context. Call it after every socket is closed and before the process exits: exiting first would
    /// drop a last message such as a worker's `bye`.
    public func terminate() {
        let first = terminated.withLock { done in
            defer { done = true }
            return !done
        }
        if first { zmq_ctx_term(handle) }
    }

    /// libzmq's version, `major.minor.patch`.
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether libzmq was built with a capability, such as `"curve"` or `"ipc"`.
    public static func has(_ capability: String) -> Bool { zmq_has(capability) == 1 }
}
