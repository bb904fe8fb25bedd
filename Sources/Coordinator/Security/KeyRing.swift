import DroverProtocol
public import DroverTransport
import Foundation
public import Logging
import Synchronization

/// The authorized keys as they are now, shared by the ZAP handler's thread (handshakes) and the core's (each message
/// on the work and control sockets, and revocations). The directory is read again when its files change
/// (``reloadIfChanged()``), so adding or removing a key needs no restart.
public final class KeyRing: Sendable {
    /// The directory of public keys, by role.
    public let directory: String
    private let state: Mutex<State>
    private let logger: Logger
    private let metrics: CoordinatorMetrics?

    private struct State {
        var keys: AuthorizedKeys {
            // Each message is looked up by its user id, the key's Z85 text, with no key to build first.
            didSet { byUserID = Dictionary(uniqueKeysWithValues: keys.holders.map { ($0.key.z85, $0.value) }) }
        }
        var byUserID: [String: AuthorizedKeys.Holder]
        var signature: [String]
        /// Unknown keys already logged: each is logged once.
        var logged: Set<CurveKey> = []

        init(keys: AuthorizedKeys, signature: [String]) {
            self.keys = keys
            self.byUserID = Dictionary(uniqueKeysWithValues: keys.holders.map { ($0.key.z85, $0.value) })
            self.signature = signature
        }
    }

    /// The coordinator's own public key, admitted as ``Role/coordinator`` whatever the directory holds.
    private let own: CurveKey?

    /// Reads the directory.
    /// - Parameter own: the coordinator's own public key, for its in-process clients.
    /// - Throws: ``KeyFileError`` for a missing directory or any file in it that cannot be used, naming the file.
    public init(directory: String, own: CurveKey? = nil, logger: Logger, metrics: CoordinatorMetrics? = nil) throws(KeyFileError) {
        var (keys, problems) = try AuthorizedKeys.read(from: directory)
        if let first = problems.first { throw first }
        if let own { keys.holders[own] = AuthorizedKeys.Holder(role: .coordinator, name: "coordinator") }
        self.own = own
        self.directory = directory
        self.logger = logger
        self.metrics = metrics
        self.state = Mutex(State(keys: keys, signature: Self.signature(of: directory)))
    }

    /// The keys as they are now.
    public var keys: AuthorizedKeys { state.withLock { $0.keys } }

    /// The role of the key a message came with (its ZAP user id, the key's Z85 text), if the key is still authorized.
    public func holder(ofUserID userID: String?) -> AuthorizedKeys.Holder? {
        guard let userID else { return nil }
        return state.withLock { $0.byUserID[userID] }
    }

    /// The ZAP handler's decision for one handshake: counts and logs refusals (an unknown key once).
    @Sendable public func authorize(_ request: ZAPRequest) -> ZAPDecision {
        let socket = SocketDomain(rawValue: request.domain)
        let (admission, firstTime) = state.withLock { state -> (AuthorizedKeys.Admission, Bool) in
            let admission = state.keys.decide(key: request.clientKey, on: socket)
            guard case .refused = admission, let key = request.clientKey else { return (admission, false) }
            return (admission, state.logged.insert(key).inserted)
        }
        switch admission {
        case .admitted:
            return .admit(userID: request.clientKey?.z85 ?? "")
        case .refused(let refusal):
            metrics?.countAuthRefusal(socket: request.domain, reason: refusal.label)
            if firstTime {
                logger.warning(
                    "refused a connection",
                    metadata: [
                        "drover.socket": "\(request.domain)", "drover.peer": "\(request.address)",
                        "drover.key": "\(request.clientKey?.fingerprint ?? "-")", "drover.reason": "\(refusal)",
                    ]
                )
            }
            return .refuse(reason: refusal.description)
        }
    }

    /// Reads the directory again if its files changed.
    /// - Returns: the keys that are no longer authorized (removed, or moved to another role), empty when nothing
    ///   changed. Problems in the files are logged and those files skipped; a directory gone keeps the keys as they were.
    public func reloadIfChanged() -> [CurveKey: AuthorizedKeys.Holder] {
        let signature = Self.signature(of: directory)
        guard state.withLock({ $0.signature != signature }) else { return [:] }
        var read: (keys: AuthorizedKeys, problems: [KeyFileError])
        do { read = try AuthorizedKeys.read(from: directory) } catch {
            logger.error("cannot read the authorized keys; keeping the keys as they were", metadata: ["drover.error": "\(error)"])
            state.withLock { $0.signature = signature }
            return [:]
        }
        if let own { read.keys.holders[own] = AuthorizedKeys.Holder(role: .coordinator, name: "coordinator") }
        for problem in read.problems {
            logger.warning("skipped an authorized key file", metadata: ["drover.error": "\(problem)"])
        }
        let revoked = state.withLock { state -> [CurveKey: AuthorizedKeys.Holder] in
            let revoked = state.keys.holders.filter { read.keys.holders[$0.key] != $0.value }
            state.keys = read.keys
            state.signature = signature
            state.logged = []
            return revoked
        }
        logger.notice(
            "authorized keys read again",
            metadata: ["drover.keys": "\(read.keys.holders.count)", "drover.revoked": "\(revoked.count)"]
        )
        return revoked
    }

    /// Names, sizes and modification times of the files under the role folders: what changes when a key is added,
    /// removed or replaced (a Kubernetes secret's update swaps a symlink, which changes the times too).
    private static func signature(of directory: String) -> [String] {
        var lines: [String] = []
        for role in AuthorizedKeys.roles {
            let folder = (directory as NSString).appendingPathComponent(role.directoryName)
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let path = (folder as NSString).appendingPathComponent(file)
                guard let info = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
                let modified = (info[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                lines.append("\(role)/\(file) \(info[.size] ?? 0) \(modified) \(info[.systemFileNumber] ?? 0)")
            }
        }
        return lines
    }
}
