import DroverProtocol
import DroverTransport
import Foundation

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

    /// Reads the authorized keys again if they changed, and drops every worker whose key is gone.
    func revokeRemovedKeys(now: Int64) {
        guard let keyRing else { return }
        let revoked = keyRing.reloadIfChanged()
        guard !revoked.isEmpty else { return }
        for (worker, userID) in workerKeys.sorted(by: { $0.key < $1.key }) {
            guard let key = try? CurveKey(z85: userID), let holder = revoked[key] else { continue }
            workerKeys[worker] = nil
            guard workers[worker] != nil else { continue }
            dropWorker(
                worker,
                type: .workerLost,
                reason:
                    "worker \(worker) lost: its key \(key.fingerprint) (\(holder.role) \(holder.name)) was removed from the authorized keys",
                now: now
            )
        }
    }

    /// The frames a refusal goes back with: the routing id, and REQ's empty delimiter when there is one.
    private func controlEnvelope(_ frames: [Data]) -> [Data] {
        frames.count >= 4 && frames[1].isEmpty ? Array(frames[0..<2]) : [frames[0]]
    }
}
