import CZeroMQ
import Foundation

/// One request of libzmq's ZAP (ZeroMQ Authentication Protocol, RFC 27): a peer is handshaking with a CURVE server
/// socket, and the handler bound at ``ZAPRequest/endpoint`` decides whether it is admitted.
public struct ZAPRequest: Sendable, Equatable {
    /// Where libzmq looks for the handler, in the server socket's context.
    public static let endpoint = "inproc://zeromq.zap.01"

    /// The server socket's ZAP domain (``SocketSecurity/curveServer(_:domain:)``): which socket is asked about.
    public var domain: String
    /// The peer's address (an IP for tcp).
    public var address: String
    /// The security mechanism, `CURVE` for Drover's sockets.
    public var mechanism: String
    /// The peer's public key, for `CURVE`.
    public var clientKey: CurveKey?

    /// The frames before the request's own: the ROUTER's routing id and the empty delimiter.
    var envelope: [Data] = []
    var requestID = Data()

    public init(domain: String, address: String = "", mechanism: String = "CURVE", clientKey: CurveKey?) {
        self.domain = domain
        self.address = address
        self.mechanism = mechanism
        self.clientKey = clientKey
    }

    /// Reads a request as a ROUTER receives it: `[routing id][empty][1.0][request id][domain][address][identity]
    /// [mechanism][credentials…]`. Returns nil for anything else.
    init?(frames: [Data]) {
        guard frames.count >= 8, frames[1].isEmpty, frames[2] == Data("1.0".utf8) else { return nil }
        envelope = Array(frames[0..<2])
        requestID = frames[3]
        domain = String(decoding: frames[4], as: UTF8.self)
        address = String(decoding: frames[5], as: UTF8.self)
        mechanism = String(decoding: frames[7], as: UTF8.self)
        clientKey = nil
        if mechanism == "CURVE", frames.count >= 9, frames[8].count == 32 {
            var text = [CChar](repeating: 0, count: 41)
            let encoded = frames[8].withUnsafeBytes { bytes in
                zmq_z85_encode(&text, bytes.bindMemory(to: UInt8.self).baseAddress, 32)
            }
            if encoded != nil { clientKey = try? CurveKey(z85: z85Text(text)) }
        }
    }

    /// The reply's frames: `200` with the user id every message of the peer will carry, or `400` with the reason.
    func reply(_ decision: ZAPDecision) -> [Data] {
        let (status, text, userID): (String, String, String) =
            switch decision {
            case .admit(let userID): ("200", "OK", userID)
            case .refuse(let reason): ("400", reason, "")
            }
        return envelope + [Data("1.0".utf8), requestID, Data(status.utf8), Data(text.utf8), Data(userID.utf8), Data()]
    }
}

/// What a ZAP handler says of a peer.
public enum ZAPDecision: Sendable, Equatable {
    /// Let it in; its messages carry `userID` (``InboundMessage/userID``).
    case admit(userID: String)
    /// Keep it out; libzmq closes its connection during the handshake.
    case refuse(reason: String)
}
