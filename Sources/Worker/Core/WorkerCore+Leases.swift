import DroverProtocol
import Foundation
import Logging

/// Leases: taking them, forwarding their progress, stopping them, and reporting how they ended.
extension WorkerCore {
    func assign(_ body: AssignBody, now: Int64) {
        let lease = body.lease
        if let existing = running[lease.leaseId] {
            if existing.aborted {
                // Possible only if the coordinator lost its state and reissues an id we were told to drop.
                send(
                    .reject,
                    LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "an aborted run of this lease is still stopping")
                )
            } else {
                // A resent assign: the first accept was lost.
                send(.accept, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch))
            }
            return
        }
        if draining {
            send(.reject, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "draining"))
            return
        }
        // An advisor's task may take the slot of a session that waits for a decision (perhaps that advisor's).
        let lent = body.task.usesWaitingSlots ? Set(recoveries.values.map(\.leaseID)).count : 0
        if running.count >= configuration.slots + lent {
            send(.reject, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "no free slot"))
            return
        }
        running[lease.leaseId] = Running(lease: lease, startedAt: now)
        effect(.start(body))
        send(.accept, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch))
        logger.info("started", metadata: ["drover.lease": "\(lease.leaseId)"])
    }

    func progress(_ leaseID: String, _ events: [AgentEvent]) {
        guard let work = running[leaseID], !work.aborted else { return }
        for event in events where event.kind == .thread {
            // Which codex thread a session runs on, stores or could not resume: in the worker's log too, a thread it
            // could not resume or store as a warning.
            let text = event.text ?? ""
            let metadata: Logger.Metadata = ["drover.lease": "\(leaseID)", "drover.text": "\(text)"]
            if text.hasPrefix("could not") {
                logger.warning("codex thread", metadata: metadata)
            } else {
                logger.notice("codex thread", metadata: metadata)
            }
        }
        send(.progress, ProgressBody(leaseId: leaseID, epoch: work.lease.epoch, events: events))
    }

    /// Stops the work of a lease. `abort`: the lease is not ours any more, so its result and reports are dropped.
    func stop(_ leaseID: String, abort: Bool, reason: String) {
        if abort {
            outbox.drop(lease: leaseID)
            running[leaseID]?.aborted = true
        }
        endQuestions(of: leaseID)
        guard running[leaseID] != nil else { return }
        logger.notice(abort ? "aborting" : "cancelling", metadata: ["drover.lease": "\(leaseID)", "drover.reason": "\(reason)"])
        effect(abort ? .abort(leaseID: leaseID) : .cancel(leaseID: leaseID))
    }

    func finished(_ leaseID: String, _ result: AgentResult, now: Int64) {
        guard let work = running.removeValue(forKey: leaseID) else { return }
        endQuestions(of: leaseID)
        if work.aborted {
            logger.notice("dropped the result of an aborted lease", metadata: ["drover.lease": "\(leaseID)"])
            return
        }
        let outcome: Outcome = work.handingBack && result.outcome == .cancelled ? .handedBack : result.outcome
        let body = ReportBody(
            leaseId: leaseID,
            epoch: work.lease.epoch,
            outcome: outcome,
            exitCode: result.exitCode,
            summary: outcome == .handedBack ? "the worker is shutting down" : result.summary,
            outputTail: result.outputTail,
            durationMs: now - work.startedAt,
            checks: result.checks,
            tokens: result.tokens,
            files: result.files.map { Array($0.prefix(WireLimits.maxFiles)) },
            diffStat: result.diffStat,
            usage: result.usage,
            output: result.output,
            merge: result.merge,
            model: result.model,
            resumeAt: outcome == .parked ? result.resumeAt : nil,
            threadId: outcome == .paused || outcome == .parked ? result.threadID : nil
        )
        sendKept(.report, body, lease: work.lease, now: now)
        logger.info("finished", metadata: ["drover.lease": "\(leaseID)", "drover.outcome": "\(outcome.rawValue)"])
    }
}
