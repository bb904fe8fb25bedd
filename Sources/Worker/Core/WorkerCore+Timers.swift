import DroverProtocol
import Foundation
import Logging

/// What happens with time: registering until welcomed, heartbeats, resending the outbox, and draining.
extension WorkerCore {
    func tick(now: Int64) {
        if !registered {
            if now - lastRegister >= heartbeatMs { register(now: now) }
            return
        }
        if now - lastHeartbeat >= heartbeatMs {
            lastHeartbeat = now
            send(.heartbeat, HeartbeatBody(leases: holding.map(\.leaseId), draining: draining ? true : nil))
        }
        for frames in outbox.due(now: now, interval: configuration.resendInterval.milliseconds) { effect(.send(frames)) }
        if draining && now - drainStarted >= configuration.drainTimeout.milliseconds {
            for leaseID in running.keys.sorted() where running[leaseID]?.handingBack == false {
                running[leaseID]?.handingBack = true
                effect(.cancel(leaseID: leaseID))
            }
        }
    }

    // MARK: - Shutdown

    func startDraining(now: Int64) {
        guard !draining else { return }
        draining = true
        drainStarted = now
        logger.info("draining: finishing running work, then leaving", metadata: ["drover.running": "\(running.count)"])
        if registered {
            lastHeartbeat = now
            send(.heartbeat, HeartbeatBody(leases: holding.map(\.leaseId), draining: true))
        }
    }

    /// Once draining and nothing runs any more: waits for the reports' acks (bounded), then says `bye`.
    func finishDrainIfDone(now: Int64) {
        guard draining, !isDone, running.isEmpty else { return }
        // Reports wait for their acks a little longer than the work did; an unreachable coordinator cannot hold us.
        let flushLimit = configuration.drainTimeout.milliseconds + 5_000
        guard outbox.isEmpty || now - drainStarted > flushLimit else { return }
        if !outbox.isEmpty {
            logger.error("leaving with unacknowledged reports", metadata: ["drover.reports": "\(outbox.count)"])
        }
        send(.bye, ByeBody(reason: "shutting down"))
        isDone = true
        effect(.done)
    }
}
