import DroverProtocol
import DroverTransport
import Foundation

/// Everything the worker's main loop reacts to, in one stream: messages, timer ticks, agents' news, shutdown.
enum WorkerInput: Sendable {
    case messages([[Data]])
    case tick
    case sendFailed(OutboundMessage)
    case progress(leaseID: String, [AgentEvent])
    case finished(leaseID: String, AgentResult)
    /// A session asks a human; the answer resumes it.
    case ask(leaseID: String, Question, CheckedContinuation<HumanAnswer, Never>)
    /// A session asks the supervisor policy whether it may recover; the decision resumes it.
    case recover(leaseID: String, RecoveryRequest, CheckedContinuation<RecoveryVerdict, Never>)
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

    func sendFailed(_ message: OutboundMessage, error: ZMQError, sender: SocketLoop.Sender) {
        continuation.yield(.sendFailed(message))
    }
}
