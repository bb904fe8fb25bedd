import CZeroMQ

/// How a socket authenticates its peers.
public enum SocketSecurity: Sendable, Equatable {
    /// No authentication: for `ipc://`, loopback, and networks where everyone who can connect may do anything.
    case none
    /// A CURVE server: it encrypts, and admits a peer only if the ZAP handler (``ZAPService``) says yes for `domain`
    /// (`ZMQ_ZAP_ENFORCE_DOMAIN`: no handler, no admission). Each message then carries the ZAP handler's user id
    /// (``InboundMessage/userID``).
    case curveServer(KeyPair, domain: String)
    /// A CURVE client of a server whose public key is `server`.
    case curveClient(KeyPair, server: CurveKey)

    /// Whether messages read from the socket carry a user id.
    var readsUserID: Bool {
        if case .curveServer = self { return true }
        return false
    }

    func apply(to socket: ZMQSocket) throws {
        switch self {
        case .none:
            break
        case .curveServer(let keys, let domain):
            try socket.set(ZMQ_CURVE_SERVER, Int32(1))
            try socket.set(ZMQ_CURVE_SECRETKEY, Array(keys.secretKey.z85.utf8))
            try socket.set(ZMQ_ZAP_DOMAIN, Array(domain.utf8))
            try socket.set(zapEnforceDomain, Int32(1))
        case .curveClient(let keys, let server):
            try socket.set(ZMQ_CURVE_SERVERKEY, Array(server.z85.utf8))
            try socket.set(ZMQ_CURVE_PUBLICKEY, Array(keys.publicKey.z85.utf8))
            try socket.set(ZMQ_CURVE_SECRETKEY, Array(keys.secretKey.z85.utf8))
        }
    }
}

/// `ZMQ_ZAP_ENFORCE_DOMAIN`: libzmq 4.3's header lists it among the draft options, but the library honours it (a
/// server socket with it set and no ZAP handler admits nobody, where without it it would admit everybody).
private let zapEnforceDomain: Int32 = 93
