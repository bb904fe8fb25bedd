public import DroverProtocol
public import DroverTransport
import Foundation

/// The public keys a coordinator admits, read from a directory with one subdirectory per role:
/// `workers/`, `operators/`, `observers/`, each holding public certificates (`NAME.key`, as `drover keygen` writes).
public struct AuthorizedKeys: Sendable, Equatable {
    /// Whose a key is.
    public struct Holder: Sendable, Equatable {
        public var role: Role
        /// The certificate's file name without `.key`.
        public var name: String
    }

    public var holders: [CurveKey: Holder]

    public init(holders: [CurveKey: Holder] = [:]) { self.holders = holders }

    /// The roles whose keys a directory holds.
    public static let roles: [Role] = [.worker, .operator, .observer]

    /// Reads the directory. A file that is not a public certificate, or a key filed under two names, is a problem
    /// named by its path; the rest is read anyway.
    /// - Returns: the keys, and the problems found.
    /// - Throws: ``KeyFileError`` (`missing`) when the directory itself is not there.
    public static func read(from directory: String) throws(KeyFileError) -> (keys: AuthorizedKeys, problems: [KeyFileError]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw KeyFileError(
                .missing,
                "\(directory): no such directory (it holds the public keys the coordinator admits, in workers/, operators/ and observers/)"
            )
        }
        var keys = AuthorizedKeys()
        var problems: [KeyFileError] = []
        for role in roles {
            let folder = (directory as NSString).appendingPathComponent(role.directoryName)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for file in names where !file.hasPrefix(".") {
                let path = (folder as NSString).appendingPathComponent(file)
                if file.hasSuffix(Certificate.secretSuffix) {
                    problems.append(
                        KeyFileError(.exposed, "\(path): a secret key has no place here; move it away and keep only the public `.key` file")
                    )
                    continue
                }
                guard file.hasSuffix(Certificate.publicSuffix) else { continue }
                do {
                    let certificate = try Certificate.readPublic(at: path)
                    let name = String(file.dropLast(Certificate.publicSuffix.count))
                    if let other = keys.holders[certificate.publicKey] {
                        problems.append(
                            KeyFileError(.mismatched, "\(path): the same key is already \(other.role) \(other.name); a key has one role")
                        )
                        continue
                    }
                    keys.holders[certificate.publicKey] = Holder(role: role, name: name)
                } catch {
                    problems.append(error)
                }
            }
        }
        return (keys, problems)
    }

    /// What the handshake of a peer with `key` on `socket` gets.
    public func decide(key: CurveKey?, on socket: SocketDomain?) -> Admission {
        guard let socket else { return .refused(.unknownSocket) }
        guard let key else { return .refused(.noKey) }
        guard let holder = holders[key] else { return .refused(.unknownKey) }
        guard Role.admitted(on: socket).contains(holder.role) else { return .refused(.wrongRole(holder.role)) }
        return .admitted(holder)
    }

    /// A handshake's outcome.
    public enum Admission: Sendable, Equatable {
        case admitted(Holder)
        case refused(Refusal)
    }

    /// Why a handshake was refused.
    public enum Refusal: Sendable, Equatable, CustomStringConvertible {
        case unknownSocket, noKey, unknownKey
        case wrongRole(Role)

        /// For the `reason` label of `drover_auth_refused_total`.
        public var label: String {
            switch self {
            case .unknownSocket: "unknown_socket"
            case .noKey: "no_key"
            case .unknownKey: "unknown_key"
            case .wrongRole: "wrong_role"
            }
        }

        public var description: String {
            switch self {
            case .unknownSocket: "not a socket of this coordinator"
            case .noKey: "no CURVE key"
            case .unknownKey: "the key is not authorized"
            case .wrongRole(let role): "a key of role \(role) may not use this socket"
            }
        }
    }
}
