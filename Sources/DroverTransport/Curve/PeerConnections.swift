import CDroverSys
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Which key spoke last on each connection of the CURVE server sockets, so that the connections of a key that is
/// no longer authorized can be cut (``SocketLoop/Sender/disconnect(userID:)``).
///
/// libzmq has no call that drops one peer of a ROUTER. It does tell which file descriptor a message was read from
/// (`ZMQ_SRCFD`); shutting that descriptor down makes libzmq's I/O thread see the connection end and tear it down
/// as it would for a peer that went away, and the peer's reconnect goes through the ZAP handler again. This type is
/// the one place that touches those descriptors. It only ever calls `shutdown`, never `close`: the descriptor stays
/// libzmq's.
///
/// Noting a message costs an array lookup and a comparison, no system call: a fleet that shares one key sends from
/// many connections at once. A descriptor number is reused once libzmq closes it; the next message on it names its
/// new key, and before a cut the descriptor is checked to still be a connection accepted on the socket's own address
/// (`drover_is_connection_at`), so a number given since to a file, a listener or another socket is left alone. Lives
/// on the loop's thread.
final class PeerConnections {
    /// Where each socket's accepted connections have their local end: a tcp port, or an ipc path.
    private let localEnds: [[(port: Int32, path: String?)]]
    /// Per socket index, per descriptor: the user id of the last message that came on it.
    private var owners: [[String?]]

    /// - Parameter boundEndpoints: what each socket bound, wildcard ports resolved (``SocketLoop/boundEndpoints``).
    init(boundEndpoints: [[String]]) {
        localEnds = boundEndpoints.map { $0.compactMap(Self.localEnd(of:)) }
        owners = Array(repeating: [], count: boundEndpoints.count)
    }

    /// Notes that a message of `userID` came on `descriptor` of socket `socket`.
    func saw(_ userID: String, on descriptor: Int32, socket: Int) {
        guard descriptor >= 0, descriptor < 1 << 20 else { return }
        let index = Int(descriptor)
        if index >= owners[socket].count {
            owners[socket].append(contentsOf: repeatElement(nil, count: index + 1 - owners[socket].count))
        }
        if owners[socket][index] != userID { owners[socket][index] = userID }
    }

    /// Cuts every connection `userID` spoke on last, on every socket; returns the socket index of each connection cut.
    func cut(_ userID: String) -> [Int] {
        var cut: [Int] = []
        for socket in owners.indices {
            for index in owners[socket].indices where owners[socket][index] == userID {
                owners[socket][index] = nil
                let descriptor = Int32(index)
                if isConnection(descriptor, of: socket), shutdown(descriptor, Int32(SHUT_RDWR)) == 0 { cut.append(socket) }
            }
        }
        return cut
    }

    /// Cuts every connection accepted on socket `socket`, whoever's: for a PUB socket, which receives nothing from
    /// its subscribers and so cannot tell their keys apart. Returns how many were cut.
    func cutAll(socket: Int) -> Int {
        owners[socket] = []
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        var cut = 0
        for descriptor in descriptors where isConnection(descriptor, of: socket) {
            if shutdown(descriptor, Int32(SHUT_RDWR)) == 0 { cut += 1 }
        }
        return cut
    }

    /// Whether `descriptor` is a connection accepted on socket `socket`'s own port or path.
    private func isConnection(_ descriptor: Int32, of socket: Int) -> Bool {
        localEnds[socket].contains { end in
            end.path.withOptionalCString { drover_is_connection_at(descriptor, end.port, $0) } == 1
        }
    }

    /// `tcp://host:PORT` → the port; `ipc://PATH` → the path; nil for what accepts no connections of ours.
    private static func localEnd(of endpoint: String) -> (port: Int32, path: String?)? {
        if endpoint.hasPrefix("ipc://") { return (0, String(endpoint.dropFirst("ipc://".count))) }
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"),
            let port = Int32(endpoint[endpoint.index(after: colon)...]), port > 0
        else { return nil }
        return (port, nil)
    }
}

extension Optional where Wrapped == String {
    /// Calls `body` with this string as a C string, or with NULL when there is none.
    fileprivate func withOptionalCString<Result>(_ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        switch self {
        case .some(let text): text.withCString { body($0) }
        case .none: body(nil)
        }
    }
}
