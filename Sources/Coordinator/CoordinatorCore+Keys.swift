import DroverProtocol
import DroverTransport
import Foundation
import Logging

/// Keyed sockets: every message's key is checked against the authorized keys as they are now, and a worker whose
/// key was removed is dropped, its leases requeued.
extension CoordinatorCore {
    /// The holder of the key `message` came with, or nil (and the message refused) when the key is no longer
    /// authorized for its socket. The ZAP handler admitted it at the handshake; this catches a key removed since.
    func admitted(_ message: InboundMessage, by keyRing: KeyRing) -> AuthorizedKeys.Holder? {
        let socket: SocketDomain = message.socket == Socket.work ? .work : .control
        guard let holder = keyRing.holder(ofUserID: message.userID), Role.admitted(on: socket).contains(holder.role) else {
            let key = message.userID.flatMap { try? CurveKey(z85: $0) }
            let firstTime = refusedKeys.insert(message.userID ?? "").inserted
            refuse(
                message.socket,
                controlEnvelope(message.frames),
                ProtocolError(
                    .forbidden,
                    "this connection's key (\(key?.fingerprint ?? "none")) is no longer authorized for the \(socket) socket"
                ),
                log: firstTime
            )
            return nil
        }
        if let userID = message.userID, !refusedKeys.isEmpty { refusedKeys.remove(userID) }  // authorized again
        if message.socket == Socket.work, let userID = message.userID {
            let peer = String(decoding: message.frames[0], as: UTF8.self)
            if workerKeys[peer] != userID { workerKeys[peer] = userID }
        }
        return holder
    }

    /// How long after a key's revocation its connections are cut.
    static let cutDelayMs: Int64 = 500

    /// The connections due to be cut (``takeDueCuts(now:)``).
    struct DueCuts: Equatable {
        /// Revoked keys: every connection each spoke on (``SocketLoop/Sender/disconnect(userID:)``).
        var userIDs: [String] = []
        /// Every event subscriber's connection, when a key that may subscribe was revoked: a PUB socket cannot tell
        /// its subscribers' keys apart. Those still authorized reconnect, and fill the gap from the event log.
        var subscribers = false
    }

    /// Reads the authorized keys again if they changed, and drops every worker whose key is gone: it is told so
    /// (`forbidden`), its leases are requeued, and its connection is cut a moment later (``takeDueCuts(now:)``).
    func revokeRemovedKeys(now: Int64) {
        guard let keyRing else { return }
        let revoked = keyRing.reloadIfChanged()
        guard !revoked.isEmpty else { return }
        for key in revoked.keys { pendingCuts[key.z85] = now + Self.cutDelayMs }
        if revoked.values.contains(where: { Role.admitted(on: .events).contains($0.role) }) {
            subscriberCutAt = now + Self.cutDelayMs
        }
        for (worker, userID) in workerKeys.sorted(by: { $0.key < $1.key }) {
            guard let key = try? CurveKey(z85: userID), let holder = revoked[key] else { continue }
            workerKeys[worker] = nil
            guard workers[worker] != nil else { continue }
            let refusal = ProtocolError(
                .forbidden,
                "this worker's key (\(key.fingerprint)) was removed from the coordinator's authorized keys; its leases were requeued"
            )
            send(Socket.work, to: worker, .error, refusal.body)
            dropWorker(
                worker,
                type: .workerLost,
                reason:
                    "worker \(worker) lost: its key \(key.fingerprint) (\(holder.role) \(holder.name)) was removed from the authorized keys",
                now: now
            )
        }
    }

    /// The connections of revoked keys that are due to be cut, each once.
    func takeDueCuts(now: Int64) -> DueCuts {
        var due = DueCuts()
        if !pendingCuts.isEmpty {
            due.userIDs = pendingCuts.filter { $0.value <= now }.keys.sorted()
            for userID in due.userIDs { pendingCuts[userID] = nil }
        }
        if let at = subscriberCutAt, at <= now {
            subscriberCutAt = nil
            due.subscribers = true
        }
        return due
    }

    /// Counts and logs the connections of a revoked key that were cut, by socket index.
    func connectionsCut(of userID: String, on sockets: [Int]) {
        guard !sockets.isEmpty else { return }
        count("connections_cut", by: Int64(sockets.count))
        let names = sockets.map { $0 == Socket.work ? "work" : $0 == Socket.control ? "control" : "\($0)" }
        logger.notice(
            "cut the connection of a key no longer authorized",
            metadata: ["drover.key": "\(userID.prefix(12))", "drover.sockets": "\(names.joined(separator: ","))"]
        )
    }

    /// Counts and logs the event subscribers' connections that were cut after a revocation.
    func subscribersCut(_ cut: Int) {
        guard cut > 0 else { return }
        count("connections_cut", by: Int64(cut))
        logger.notice(
            "cut the event subscribers' connections: a key that may subscribe was revoked, and the others reconnect",
            metadata: ["drover.connections": "\(cut)"]
        )
    }

    /// The frames a refusal goes back with: the routing id, and REQ's empty delimiter when there is one.
    private func controlEnvelope(_ frames: [Data]) -> [Data] {
        frames.count >= 4 && frames[1].isEmpty ? Array(frames[0..<2]) : [frames[0]]
    }
}
