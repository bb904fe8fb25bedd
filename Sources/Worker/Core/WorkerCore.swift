import DroverProtocol
import Foundation
import Logging

/// The worker's logic: registering, taking leases, keeping reports in an outbox until the coordinator acknowledges
/// them, passing sessions' questions on, and draining.
///
/// It only decides. Every input arrives through ``handle(_:now:)``, which returns what to do as ``WorkerEffect``s:
/// messages to send, work to start or stop, waiting sessions to resume. ``WorkerService`` carries them out. Time is
/// passed in as monotonic milliseconds, which keeps the logic testable without sockets, agents or clocks.
final class WorkerCore {
    /// A lease whose work is running.
    struct Running {
        var lease: LeaseRef
        var startedAt: Int64
        /// Stopped because the worker is shutting down: report `handed_back`.
        var handingBack = false
        /// The lease is no longer ours: report nothing.
        var aborted = false
    }

    /// A session waiting for the coordinator's answer to a question or a recovery request.
    struct Waiting {
        var leaseID: String
        /// The question as sent, to ask a restarted coordinator again.
        var ask: AskBody?
    }

    let configuration: WorkerConfiguration
    let logger: Logger
    let codec = WireCodec()

    var registered = false
    /// The coordinator's instance from its last `welcome`; a heartbeat with another one means it restarted.
    var instance: String?
    var heartbeatMs: Int64
    var lastHeartbeat: Int64 = -1_000_000_000
    var lastRegister: Int64 = -1_000_000_000
    var running: [String: Running] = [:]
    var outbox = Outbox()
    /// Questions sent to the coordinator's inbox, by item.
    var asks: [String: Waiting] = [:]
    /// Recovery requests sent to the coordinator's policy, by item.
    var recoveries: [String: Waiting] = [:]
    /// The coordinator refused this worker's key (removed from its authorized keys): said once, not per message.
    var keyRefused = false
    var draining = false
    var drainStarted: Int64 = 0
    /// Set once the worker has said `bye`.
    var isDone = false

    private var seq: UInt64 = 0
    private var effects: [WorkerEffect] = []

    init(configuration: WorkerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.heartbeatMs = configuration.heartbeatInterval.milliseconds
    }

    /// Handles one input at monotonic time `now` (ms) and returns what to do, in order.
    func handle(_ input: WorkerInput, now: Int64) -> [WorkerEffect] {
        guard !isDone else { return [] }
        switch input {
        case .messages(let messages):
            for frames in messages { receive(frames, now: now) }
        case .tick:
            tick(now: now)
        case .progress(let leaseID, let events):
            progress(leaseID, events)
        case .finished(let leaseID, let result):
            finished(leaseID, result, now: now)
        case .ask(let leaseID, let item, let question):
            ask(leaseID, item: item, question, now: now)
        case .recover(let leaseID, let item, let request):
            recover(leaseID, item: item, request, now: now)
        case .drain:
            startDraining(now: now)
        }
        finishDrainIfDone(now: now)
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    /// Queues an effect for ``handle(_:now:)`` to return.
    func effect(_ effect: WorkerEffect) { effects.append(effect) }

    // MARK: - Sending

    /// A header with the next `seq`, and the id made from it (`<worker>-<seq>`). A message kept in the outbox is
    /// resent as it was first sent, so the coordinator sees the same id and processes it once.
    private func header(_ type: MessageType) -> Header {
        seq += 1
        return Header(type: type, id: "\(configuration.id)-\(seq)", seq: seq)
    }

    /// Sends once (best effort, or answered by whatever comes next).
    func send<Body: Encodable>(_ type: MessageType, _ body: Body) {
        effect(.send(redacted(codec.frames(header(type), body))))
    }

    /// Sends, and keeps the message in the outbox until the coordinator answers it.
    func sendKept<Body: Encodable>(_ type: MessageType, _ body: Body, lease: LeaseRef, now: Int64) {
        let header = self.header(type)
        let frames = redacted(codec.frames(header, body))
        outbox.add(id: header.id, lease: lease, frames: frames, now: now)
        effect(.send(frames))
    }

    /// `[header][body]` with the body's secrets taken out: nothing the worker sends carries one.
    private func redacted(_ frames: [Data]) -> [Data] {
        guard frames.count == 2 else { return frames }
        return [frames[0], configuration.redactor.redact(frames[1])]
    }

    /// The leases this worker holds: running, or finished with a report not yet acknowledged.
    var holding: [LeaseRef] {
        let leases = running.values.filter { !$0.aborted }.map(\.lease).sorted { $0.leaseId < $1.leaseId }
        let runningIDs = Set(running.keys)
        return leases + outbox.leases.filter { !runningIDs.contains($0.leaseId) }
    }

    func register(now: Int64) {
        lastRegister = now
        send(
            .register,
            RegisterBody(
                worker: configuration.id,
                host: configuration.host,
                slots: configuration.slots,
                labels: configuration.labels,
                holding: holding,
                draining: draining
            )
        )
    }
}
