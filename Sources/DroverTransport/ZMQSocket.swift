import CZeroMQ
import Foundation

/// One libzmq socket. Not `Sendable`: it lives and dies on the thread that made it (see ``SocketLoop``).
public final class ZMQSocket {
    /// The socket types Drover uses.
    public enum Kind: Sendable {
        case router, dealer, pub, sub

        var rawValue: Int32 {
            switch self {
            case .router: ZMQ_ROUTER
            case .dealer: ZMQ_DEALER
            case .pub: ZMQ_PUB
            case .sub: ZMQ_SUB
            }
        }
    }

    let handle: UnsafeMutableRawPointer
    private let context: ZMQContext
    private var isClosed = false

    public init(_ context: ZMQContext, kind: Kind) throws {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError("zmq_socket") }
        self.handle = handle
        self.context = context
    }

    deinit { close() }

    /// Closes the socket now. Messages still queued are kept for at most the socket's linger time.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        zmq_close(handle)
    }

    // MARK: - Options

    public func set(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError("setsockopt \(option)")
        }
    }

    public func set(_ option: Int32, _ value: Int64) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError("setsockopt \(option)")
        }
    }

    public func set(_ option: Int32, _ value: [UInt8]) throws {
        let result = value.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard result == 0 else { throw ZMQError("setsockopt \(option)") }
    }

    /// The endpoint the socket last bound, with a wildcard port resolved (`tcp://127.0.0.1:*` → `:43121`).
    public var lastEndpoint: String {
        var buffer = [UInt8](repeating: 0, count: 512)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end], as: UTF8.self)
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
    }

    // MARK: - Messages

    /// Sends a multipart message without blocking.
    /// - Throws: ``ZMQError``; `isWouldBlock` when the queue is full, `isHostUnreachable` for an unknown ROUTER peer.
    public func send(_ frames: [Data]) throws {
        for (index, frame) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            guard sent >= 0 else {
                // A multipart message is atomic: a failure can only happen on the first frame.
                throw ZMQError("send")
            }
        }
    }

    /// Receives one whole multipart message without blocking, or returns nil when none is waiting.
    public func receive() throws -> [Data]? {
        var ignored: String?
        var descriptor: Int32 = -1
        return try receive(userID: &ignored, descriptor: &descriptor, readingUserID: false)
    }

    /// Receives one whole multipart message without blocking, or returns nil when none is waiting; `userID` is set to
    /// the user id the ZAP handler gave the sending peer (CURVE servers), nil when there is none, and `descriptor` to
    /// the file descriptor of the connection it came on (`ZMQ_SRCFD`), -1 when libzmq does not say.
    public func receive(userID: inout String?, descriptor: inout Int32) throws -> [Data]? {
        try receive(userID: &userID, descriptor: &descriptor, readingUserID: true)
    }

    private func receive(userID: inout String?, descriptor: inout Int32, readingUserID: Bool) throws -> [Data]? {
        var frames: [Data] = []
        // Room for [routing id][header][body] from the start: growing the array would allocate twice per message.
        frames.reserveCapacity(4)
        while true {
            let (frame, more) = try withUnsafeTemporaryAllocation(of: zmq_msg_t.self, capacity: 1) {
                buffer -> (Data?, Bool) in
                let message = buffer.baseAddress!
                zmq_msg_init(message)
                defer { zmq_msg_close(message) }
                guard zmq_msg_recv(message, handle, ZMQ_DONTWAIT) >= 0 else {
                    let error = ZMQError("receive")
                    if error.isWouldBlock { return (nil, false) }
                    throw error
                }
                // A ROUTER's routing-id frame is made locally and carries no metadata: read the first frame that has it.
                if readingUserID, userID == nil, let property = zmq_msg_gets(message, "User-Id") {
                    userID = String(cString: property)
                    descriptor = zmq_msg_get(message, ZMQ_SRCFD)
                }
                let size = zmq_msg_size(message)
                let data = size == 0 ? Data() : Data(bytes: zmq_msg_data(message), count: size)
                return (data, zmq_msg_more(message) == 1)
            }
            guard let frame else {
                // Parts of a multipart message arrive together, so this only happens before the first frame.
                return frames.isEmpty ? nil : frames
            }
            frames.append(frame)
            if !more { return frames }
        }
    }
}
