import DroverProtocol
import Foundation
import Logging

/// What the coordinator says to the worker: `welcome`, its heartbeats, `assign`, `control`, `ack`, `recovery` and
/// `error`.
extension WorkerCore {
    func receive(_ frames: [Data], now: Int64) {
        guard frames.count == 2 else {
            logger.warning("ignored a message with \(frames.count) frames from the coordinator")
            return
        }
        do throws(ProtocolError) {
            let header = try codec.header(from: frames[0])
            switch header.type {
            case .welcome:
                welcome(try codec.body(WelcomeBody.self, from: frames[1]), now: now)
            case .heartbeat:
                heartbeat(try codec.body(HeartbeatBody.self, from: frames[1]), now: now)
            case .assign:
                assign(try codec.body(AssignBody.self, from: frames[1]), now: now)
            case .control:
                control(try codec.body(ControlBody.self, from: frames[1]))
            case .recovery:
                decided(try codec.body(RecoveryBody.self, from: frames[1]))
            case .ack:
                outbox.acknowledge(try codec.body(AckBody.self, from: frames[1]).ref)
            case .error:
                refused(try codec.body(ErrorBody.self, from: frames[1]), now: now)
            default:
                logger.warning("ignored an unexpected '\(header.type.rawValue)' from the coordinator")
            }
        } catch {
            logger.warning("ignored a bad message from the coordinator", metadata: ["drover.error": "\(error)"])
        }
    }

    private func welcome(_ body: WelcomeBody, now: Int64) {
        registered = true
        keyRefused = false
        instance = body.instance
        heartbeatMs = body.heartbeatMs
        logger.info("registered", metadata: ["drover.instance": "\(body.instance)", "drover.aborted": "\(body.abort.count)"])
        for leaseID in body.abort { stop(leaseID, abort: true, reason: "the coordinator no longer knows this lease as ours") }
        // A restarted coordinator has an empty inbox: ask again what is still unanswered (it keeps one item per id).
        for (_, waiting) in asks.sorted(by: { $0.key < $1.key }) {
            if let ask = waiting.ask { send(.ask, ask) }
        }
        // Whatever waited for an answer goes out again now, to the coordinator that is there now.
        for frames in outbox.all(now: now) { effect(.send(frames)) }
    }

    private func heartbeat(_ body: HeartbeatBody, now: Int64) {
        guard let instance = body.instance, registered, instance != self.instance else { return }
        logger.info("the coordinator restarted; registering again", metadata: ["drover.instance": "\(instance)"])
        registered = false
        register(now: now)
    }

    private func control(_ body: ControlBody) {
        switch body.action {
        case .answer:
            break
        case .steer, .pause:
            // Only to a session we run, under the lease it was sent for.
            guard let work = running[body.leaseId], !work.aborted else { return }
            if body.action == .pause {
                effect(.pause(leaseID: body.leaseId))
            } else if let text = body.text, !text.isEmpty {
                effect(.steer(leaseID: body.leaseId, text: text))
            }
            return
        default:
            stop(body.leaseId, abort: body.action == .abort, reason: body.reason)
            return
        }
        // An answer applies only to the question it was given for: its item, under its lease.
        guard let item = body.item, asks[item]?.leaseID == body.leaseId else { return }
        asks[item] = nil
        effect(.answer(item: item, HumanAnswer(decision: body.decision ?? .deny, text: body.text)))
    }

    /// The policy's decision on a recovery request, which is also its acknowledgement.
    private func decided(_ body: RecoveryBody) {
        outbox.acknowledge(body.ref)
        // A decision applies only to the request it was made for: its item, under its lease.
        guard recoveries[body.item]?.leaseID == body.leaseId else { return }
        recoveries[body.item] = nil
        effect(.decide(item: body.item, RecoveryVerdict(decision: body.decision, reason: body.reason, instruction: body.instruction)))
    }

    private func refused(_ body: ErrorBody, now: Int64) {
        switch body.code {
        case .unknownWorker:
            // One registration per heartbeat interval, however many messages the coordinator refused meanwhile.
            if registered || now - lastRegister > heartbeatMs {
                registered = false
                register(now: now)
            }
        case .staleLease:
            if let leaseID = body.leaseId { stop(leaseID, abort: true, reason: body.message) }
        case .forbidden:
            // The coordinator no longer knows this key, and has requeued the leases: their work is no longer ours.
            if let ref = body.ref { outbox.acknowledge(ref) }
            guard !keyRefused else { return }
            keyRefused = true
            logger.error(
                "the coordinator refused this worker's key: its public certificate must be in the coordinator's authorized keys, under workers/",
                metadata: ["drover.message": "\(body.message)"]
            )
            for leaseID in running.keys.sorted() { stop(leaseID, abort: true, reason: body.message) }
        default:
            logger.error(
                "the coordinator refused a message",
                metadata: ["drover.code": "\(body.code)", "drover.message": "\(body.message)"]
            )
            // Sending it again cannot help: drop it so the outbox does not resend it forever.
            if let ref = body.ref { outbox.acknowledge(ref) }
        }
    }
}
