/// Who a CURVE key belongs to, and so what its holder may do. A coordinator with keys admits each peer by its public
/// key's role (`docs/security.md`).
public enum Role: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// Runs sessions: the work socket only.
    case worker
    /// Runs the fleet: every control request, and the event stream.
    case `operator`
    /// Watches: the event stream, and the control requests that change nothing (``ControlAccess``).
    case observer
    /// The coordinator's own key pair: its in-process clients (the dashboard) connect with it, as operators.
    case coordinator

    /// The roles admitted on a socket, named by its ZAP domain.
    public static func admitted(on socket: SocketDomain) -> Set<Role> {
        switch socket {
        case .work: [.worker]
        case .events, .control: [.operator, .observer, .coordinator]
        }
    }

    /// Whether the role may make every control request, those that change things too.
    public var mayOperate: Bool { self == .operator || self == .coordinator }

    /// The subdirectory of the authorized-keys directory that holds this role's public keys.
    public var directoryName: String { rawValue + "s" }

    public var description: String { rawValue }
}

/// A coordinator socket, as its CURVE server names itself to the ZAP handler.
public enum SocketDomain: String, Sendable, CaseIterable, CustomStringConvertible {
    case work, events, control

    public var description: String { rawValue }
}
