import DroverProtocol
import Foundation

/// What ``WorkerCore`` asks its surroundings to do. The core only decides; ``WorkerService`` carries these out (a
/// socket send, a task started or cancelled, a waiting session resumed), and the tests read them as plain values.
enum WorkerEffect: Sendable, Equatable {
    /// Send one message (header and body frames) to the coordinator.
    case send([Data])
    /// Start the work of a lease; when it ends, feed back ``WorkerInput/finished(leaseID:_:)``.
    case start(AssignBody)
    /// Stop the work of a lease; its result is still reported (as `cancelled`, or `handed_back` while draining).
    case cancel(leaseID: String)
    /// Stop the work of a lease that is not ours any more: nothing of it may be saved or reported.
    case abort(leaseID: String)
    /// Hand an operator's guidance to the session of a lease (``OperatorChannel``).
    case steer(leaseID: String, text: String)
    /// Ask the session of a lease to stop after its turn and report `paused` (``OperatorChannel``).
    case pause(leaseID: String)
    /// Resume the session waiting on question `item` with this answer.
    case answer(item: String, HumanAnswer)
    /// Resume the session waiting on recovery request `item` with this decision.
    case decide(item: String, RecoveryVerdict)
    /// The worker has said `bye`: the main loop ends.
    case done
}
