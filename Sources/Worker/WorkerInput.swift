import DroverProtocol
import DroverTransport
import Foundation

/// Everything the worker's main loop reacts to, in one stream: messages, timer ticks, sessions' news, shutdown.
///
/// Failed sends are not among them: whatever must arrive (registration, reports, asks, recovery requests) is sent
/// again by the core's timers until the coordinator answers, and the rest (heartbeats, progress) is best effort.
enum WorkerInput: Sendable {
    /// Messages from the coordinator, each as its frames.
    case messages([[Data]])
    case tick
    case progress(leaseID: String, [AgentEvent])
    case finished(leaseID: String, AgentResult)
    /// A session asks a human; `item` names the question, and the answer comes back as ``WorkerEffect/answer(item:_:)``.
    case ask(leaseID: String, item: String, Question)
    /// A session asks the supervisor policy whether it may recover; the decision comes back as
    /// ``WorkerEffect/decide(item:_:)``.
    case recover(leaseID: String, item: String, RecoveryRequest)
    /// Graceful shutdown: finish or hand back the work, flush the reports, say `bye`.
    case drain
}

/// The socket loop's handler for a worker: forwards everything into the main loop's stream.
final class WorkerStreamHandler: SocketLoopHandler {
    let continuation: AsyncStream<WorkerInput>.Continuation

    init(continuation: AsyncStream<WorkerInput>.Continuation) { self.continuation = continuation }

    func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
        continuation.yield(.messages(batch.map(\.frames)))
    }

    func tick(sender: SocketLoop.Sender) { continuation.yield(.tick) }
}
