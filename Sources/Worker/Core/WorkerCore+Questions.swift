import DroverProtocol
import Foundation
import Logging

/// Sessions' questions: to a human through the coordinator's inbox (`ask`), and to the supervisor policy about a
/// recovery (`recover`). Both stay in the outbox until the coordinator has them; the session waits, under its item,
/// until the answer comes or its lease ends.
extension WorkerCore {
    func ask(_ leaseID: String, item: String, _ question: Question, now: Int64) {
        guard let work = running[leaseID], !work.aborted else {
            effect(.answer(item: item, HumanAnswer(decision: .deny, text: "the lease has ended")))
            return
        }
        let body = AskBody(leaseId: leaseID, epoch: work.lease.epoch, item: item, kind: question.kind, text: question.text)
        asks[item] = Waiting(leaseID: leaseID, ask: body)
        sendKept(.ask, body, lease: work.lease, now: now)
        logger.notice("asking an operator", metadata: ["drover.lease": "\(leaseID)", "drover.item": "\(item)"])
    }

    func recover(_ leaseID: String, item: String, _ request: RecoveryRequest, now: Int64) {
        guard let work = running[leaseID], !work.aborted else {
            effect(.decide(item: item, RecoveryVerdict(decision: .escalate, reason: "the lease has ended")))
            return
        }
        let body = RecoverBody(
            leaseId: leaseID,
            epoch: work.lease.epoch,
            item: item,
            detection: request.detection,
            proposal: request.proposal,
            evidence: String(request.evidence.prefix(16000))
        )
        recoveries[item] = Waiting(leaseID: leaseID)
        sendKept(.recover, body, lease: work.lease, now: now)
        logger.notice(
            "asking the supervisor policy",
            metadata: ["drover.lease": "\(leaseID)", "drover.item": "\(item)", "drover.detection": "\(request.detection)"]
        )
    }

    /// Questions of a lease that ended get "deny", and recoveries "escalate", so their sessions do not wait for ever.
    func endQuestions(of leaseID: String) {
        for (item, waiting) in asks.sorted(by: { $0.key < $1.key }) where waiting.leaseID == leaseID {
            asks[item] = nil
            effect(.answer(item: item, HumanAnswer(decision: .deny, text: "the lease has ended")))
        }
        for (item, waiting) in recoveries.sorted(by: { $0.key < $1.key }) where waiting.leaseID == leaseID {
            recoveries[item] = nil
            effect(.decide(item: item, RecoveryVerdict(decision: .escalate, reason: "the lease has ended")))
        }
    }
}
