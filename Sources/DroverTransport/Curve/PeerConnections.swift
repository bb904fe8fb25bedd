import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The newest connection each key spoke on, per socket, so that the connection of a key that is no longer authorized
/// can be cut (``SocketLoop/Sender/disconnect(userID:)``).
///
/// libzmq has no call that drops one peer of a ROUTER. It does tell which file descriptor a message was read from
/// (`ZMQ_SRCFD`); shutting that descriptor down makes libzmq's I/O thread see the connection end and tear it down
/// as it would for a peer that went away, and the peer's reconnect goes through the ZAP handler again. This type is
/// the one place that touches those descriptors. It only ever calls `shutdown`, never `close`: the descriptor stays
/// libzmq's.
///
/// A descriptor number is reused once libzmq closes it, so each connection is remembered with the socket inode it
/// had: a descriptor that now names another socket is left alone. Lives on the loop's thread.
final class PeerConnections {
    /// One accepted connection: its descriptor, and the inode that tells it from a later socket on the same number.
    struct Connection: Equatable {
        var descriptor: Int32
        var inode: UInt64
    }

    /// Per socket index: user id → the newest connection a message of it came on.
    private var newest: [Int: [String: Connection]] = [:]

    /// Notes that a message of `userID` came on `descriptor` of socket `socket`. Cheap when it is the same connection
    /// as last time, which is nearly always.
    func saw(_ userID: String, on descriptor: Int32, socket: Int) {
        guard descriptor >= 0 else { return }
        if let known = newest[socket]?[userID], known.descriptor == descriptor { return }
        guard let inode = Self.inode(of: descriptor) else { return }
        newest[socket, default: [:]][userID] = Connection(descriptor: descriptor, inode: inode)
    }

    /// Cuts the newest connection `userID` spoke on, on every socket; returns the socket indices where one was cut.
    /// A connection that has already ended is forgotten and not counted.
    func cut(_ userID: String) -> [Int] {
        var cut: [Int] = []
        for socket in newest.keys.sorted() {
            guard let connection = newest[socket]?.removeValue(forKey: userID) else { continue }
            guard Self.inode(of: connection.descriptor) == connection.inode else { continue }
            if shutdown(connection.descriptor, Int32(SHUT_RDWR)) == 0 { cut.append(socket) }
        }
        return cut
    }

    /// The inode of the socket behind `descriptor`, or nil when it is closed or not a socket.
    private static func inode(of descriptor: Int32) -> UInt64? {
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return UInt64(info.st_ino)
    }
}
