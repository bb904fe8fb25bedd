import DroverProtocol
import DroverTransport
import Foundation
import Logging

/// The worker's logic: registering, taking leases, running agents in slots, and keeping reports in an outbox until
/// the coordinator acknowledges them. Owned by the main loop's task; every input arrives through ``handle(_:now:)``.
final class WorkerCore {
    private struct Running {
        var lease: LeaseRef
        var task: Task<Void, Never>
        var abort: LeaseRun.Abort
        var startedAt: Int64
        /// Stopped because the worker is shutting down: report `handed_back`.
        var handingBack = false
        /// The lease is no longer ours: report nothing.
        var aborted = false
    }

    private struct Pending {
        var id: String
        var leaseID: String
        var frames: [Data]
        var sentAt: Int64
    }

    private let configuration: WorkerConfiguration
    private let agent: any AgentSession
    private let loop: SocketLoop
    private let inputs: AsyncStream<WorkerInput>.Continuation
    private let logger: Logger
    private let codec = WireCodec()

    private var registered = false
    private var instance: String?
    private var heartbeatMs: Int64
    private var lastHeartbeat: Int64 = -1_000_000_000
    private var lastRegister: Int64 = -1_000_000_000
    private var running: [String: Running] = [:]
    private var outbox: [Pending] = []
    private var seq: UInt64 = 0
    private var draining = false
    private var drainStarted: Int64 = 0
    /// Set once the worker has said `bye`; the main loop ends.
    private(set) var isDone = false

    init(
        configuration: WorkerConfiguration,
        agent: any AgentSession,
        loop: SocketLoop,
        inputs: AsyncStream<WorkerInput>.Continuation,
        logger: Logger
    ) {
        self.configuration = configuration
        self.agent = agent
        self.loop = loop
        self.inputs = inputs
        self.logger = logger
        self.heartbeatMs = configuration.heartbeatInterval.milliseconds
    }

    func handle(_ input: WorkerInput, now: Int64) {
        switch input {
        case .messages(let messages):
            for frames in messages { receive(frames, now: now) }
        case .tick:
            tick(now: now)
        case .sendFailed:
            // Nothing to do now: registration and reports are retried on the next ticks.
            break
        case .progress(let leaseID, let events):
            guard let lease = running[leaseID]?.lease, running[leaseID]?.aborted == false else { return }
            send(.progress, ProgressBody(leaseId: leaseID, epoch: lease.epoch, events: events))
        case .finished(let leaseID, let result):
            finished(leaseID, result, now: now)
        case .ask(let leaseID, let question, let continuation):
            ask(leaseID, question, continuation, now: now)
        case .recover(let leaseID, let request, let continuation):
            recover(leaseID, request, continuation, now: now)
        case .drain:
            startDraining(now: now)
        }
        finishDrainIfDone(now: now)
    }

    // MARK: - Sending

    private func header(_ type: MessageType) -> Header {
        seq += 1
        return Header(type: type, id: "\(configuration.id)-\(seq)", seq: seq)
    }

    private func send<Body: Encodable>(_ type: MessageType, _ body: Body) {
        loop.send(OutboundMessage(socket: 0, frames: codec.frames(header(type), body)))
    }

    /// The leases this worker holds: running, or finished with a report not yet acknowledged.
    private var holding: [LeaseRef] {
        var leases = running.values.filter { !$0.aborted }.map(\.lease)
        let runningIDs = Set(leases.map(\.leaseId))
        for pending in outbox where !runningIDs.contains(pending.leaseID) {
            if let lease = reportLeases[pending.leaseID] { leases.append(lease) }
        }
        return leases
    }

    /// Questions sent to the coordinator's inbox, by item, with the session waiting for each.
    private var asks: [String: (leaseID: String, body: AskBody, continuation: CheckedContinuation<HumanAnswer, Never>)] = [:]
    private var askCount = 0
    /// Recovery requests sent to the coordinator's policy, by item, with the session waiting for each.
    private var recoveries: [String: (leaseID: String, continuation: CheckedContinuation<RecoveryVerdict, Never>)] = [:]

    /// Leases of reports in the outbox, kept so a re-registration can declare them.
    private var reportLeases: [String: LeaseRef] = [:]

    private func register(now: Int64) {
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

    // MARK: - Inbound

    private func receive(_ frames: [Data], now: Int64) {
        guard frames.count == 2 else {
            logger.warning("ignored a message with \(frames.count) frames from the coordinator")
            return
        }
        do throws(ProtocolError) {
            let header = try codec.header(from: frames[0])
            switch header.type {
            case .welcome:
                let body = try codec.body(WelcomeBody.self, from: frames[1])
                welcome(body, now: now)
            case .heartbeat:
                let body = try codec.body(HeartbeatBody.self, from: frames[1])
                if let instance = body.instance, registered, instance != self.instance {
                    logger.info("the coordinator restarted; registering again", metadata: ["drover.instance": "\(instance)"])
                    registered = false
                    register(now: now)
                }
            case .assign:
                let body = try codec.body(AssignBody.self, from: frames[1])
                assign(body, now: now)
            case .control:
                let body = try codec.body(ControlBody.self, from: frames[1])
                if body.action == .answer {
                    if let item = body.item, let waiting = asks.removeValue(forKey: item) {
                        waiting.continuation.resume(returning: HumanAnswer(decision: body.decision ?? .deny, text: body.text))
                    }
                } else {
                    stop(body.leaseId, abort: body.action == .abort, reason: body.reason)
                }
            case .recovery:
                let body = try codec.body(RecoveryBody.self, from: frames[1])
                acknowledged(body.ref)
                if let waiting = recoveries.removeValue(forKey: body.item) {
                    waiting.continuation.resume(returning: RecoveryVerdict(decision: body.decision, reason: body.reason))
                }
            case .ack:
                let body = try codec.body(AckBody.self, from: frames[1])
                acknowledged(body.ref)
            case .error:
                let body = try codec.body(ErrorBody.self, from: frames[1])
                refused(body, now: now)
            default:
                logger.warning("ignored an unexpected '\(header.type.rawValue)' from the coordinator")
            }
        } catch {
            logger.warning("ignored a bad message from the coordinator", metadata: ["drover.error": "\(error)"])
        }
    }

    private func welcome(_ body: WelcomeBody, now: Int64) {
        registered = true
        instance = body.instance
        heartbeatMs = body.heartbeatMs
        logger.info("registered", metadata: ["drover.instance": "\(body.instance)", "drover.aborted": "\(body.abort.count)"])
        for leaseID in body.abort { stop(leaseID, abort: true, reason: "the coordinator no longer knows this lease as ours") }
        // A restarted coordinator has an empty inbox: ask again what is still unanswered (it keeps one item per id).
        for (_, waiting) in asks.sorted(by: { $0.key < $1.key }) { send(.ask, waiting.body) }
        // Whatever waited for an ack goes out again now, to the coordinator that is there now.
        for index in outbox.indices {
            outbox[index].sentAt = now
            loop.send(OutboundMessage(socket: 0, frames: outbox[index].frames))
        }
    }

    private func assign(_ body: AssignBody, now: Int64) {
        let lease = body.lease
        if let existing = running[lease.leaseId] {
            if existing.aborted {
                // Possible only if the coordinator lost its state and reissues an id we were told to drop.
                send(
                    .reject,
                    LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "an aborted run of this lease is still stopping")
                )
            } else {
                send(.accept, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch))
            }
            return
        }
        if draining {
            send(.reject, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "draining"))
            return
        }
        if running.count >= configuration.slots {
            send(.reject, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch, reason: "no free slot"))
            return
        }
        let agent = self.agent
        let inputs = self.inputs
        let workdir = configuration.workdir
        let worker = configuration.id
        let abort = LeaseRun.Abort()
        let task = Task {
            let context = AgentContext(
                events: { inputs.yield(.progress(leaseID: lease.leaseId, $0)) },
                ask: { question in await withCheckedContinuation { inputs.yield(.ask(leaseID: lease.leaseId, question, $0)) } },
                recover: { request in await withCheckedContinuation { inputs.yield(.recover(leaseID: lease.leaseId, request, $0)) } }
            )
            let run = LeaseRun(agent: agent, workdir: workdir, worker: worker)
            let result = await run.run(body.task, lease: lease, abort: abort, context: context)
            inputs.yield(.finished(leaseID: lease.leaseId, result))
        }
        running[lease.leaseId] = Running(lease: lease, task: task, abort: abort, startedAt: now)
        send(.accept, LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch))
        logger.info("started", metadata: ["drover.lease": "\(lease.leaseId)"])
    }

    /// Stops the work of a lease. `abort`: the lease is not ours any more, so its result and reports are dropped.
    private func stop(_ leaseID: String, abort: Bool, reason: String) {
        if abort {
            outbox.removeAll { $0.leaseID == leaseID }
            reportLeases[leaseID] = nil
            running[leaseID]?.aborted = true
            running[leaseID]?.abort.set()
        }
        denyAsks(of: leaseID)
        guard let work = running[leaseID] else { return }
        logger.notice(abort ? "aborting" : "cancelling", metadata: ["drover.lease": "\(leaseID)", "drover.reason": "\(reason)"])
        work.task.cancel()
    }

    private func acknowledged(_ ref: String) {
        guard let index = outbox.firstIndex(where: { $0.id == ref }) else { return }
        let leaseID = outbox.remove(at: index).leaseID
        if !outbox.contains(where: { $0.leaseID == leaseID }) { reportLeases[leaseID] = nil }
    }

    private func refused(_ body: ErrorBody, now: Int64) {
        switch body.code {
        case .unknownWorker:
            if registered || now - lastRegister > heartbeatMs {
                registered = false
                register(now: now)
            }
        case .staleLease:
            if let leaseID = body.leaseId { stop(leaseID, abort: true, reason: body.message) }
        default:
            logger.error(
                "the coordinator refused a message",
                metadata: ["drover.code": "\(body.code)", "drover.message": "\(body.message)"]
            )
            // Sending it again cannot help: drop it so the outbox does not resend it forever.
            if let ref = body.ref { acknowledged(ref) }
        }
    }

    // MARK: - Asking humans

    private func ask(_ leaseID: String, _ question: Question, _ continuation: CheckedContinuation<HumanAnswer, Never>, now: Int64) {
        guard let work = running[leaseID], !work.aborted else {
            continuation.resume(returning: HumanAnswer(decision: .deny, text: "the lease has ended"))
            return
        }
        askCount += 1
        let item = "q\(askCount)"
        let body = AskBody(
            leaseId: leaseID,
            epoch: work.lease.epoch,
            item: item,
            kind: question.kind,
            text: question.text
        )
        asks[item] = (leaseID, body, continuation)
        // Like a report, it stays in the outbox until the coordinator has it.
        let header = self.header(.ask)
        let frames = codec.frames(header, body)
        outbox.append(Pending(id: header.id, leaseID: leaseID, frames: frames, sentAt: now))
        loop.send(OutboundMessage(socket: 0, frames: frames))
        logger.notice(
            "asking an operator",
            metadata: ["drover.lease": "\(leaseID)", "drover.item": "\(item)"]
        )
    }

    /// Sends a recovery request to the coordinator's policy; like a report, it stays in the outbox until the
    /// decision comes back.
    private func recover(
        _ leaseID: String,
        _ request: RecoveryRequest,
        _ continuation: CheckedContinuation<RecoveryVerdict, Never>,
        now: Int64
    ) {
        guard let work = running[leaseID], !work.aborted else {
            continuation.resume(returning: RecoveryVerdict(decision: .escalate, reason: "the lease has ended"))
            return
        }
        askCount += 1
        let item = "r\(askCount)"
        let body = RecoverBody(
            leaseId: leaseID,
            epoch: work.lease.epoch,
            item: item,
            detection: request.detection,
            proposal: request.proposal,
            evidence: String(request.evidence.prefix(16000))
        )
        recoveries[item] = (leaseID, continuation)
        let header = self.header(.recover)
        let frames = codec.frames(header, body)
        outbox.append(Pending(id: header.id, leaseID: leaseID, frames: frames, sentAt: now))
        loop.send(OutboundMessage(socket: 0, frames: frames))
        logger.notice(
            "asking the supervisor policy",
            metadata: ["drover.lease": "\(leaseID)", "drover.item": "\(item)", "drover.detection": "\(request.detection)"]
        )
    }

    /// Questions of a lease that ended get "deny", and recoveries "escalate", so their sessions do not wait for ever.
    private func denyAsks(of leaseID: String) {
        for (item, waiting) in asks where waiting.leaseID == leaseID {
            asks[item] = nil
            waiting.continuation.resume(returning: HumanAnswer(decision: .deny, text: "the lease has ended"))
        }
        for (item, waiting) in recoveries where waiting.leaseID == leaseID {
            recoveries[item] = nil
            waiting.continuation.resume(returning: RecoveryVerdict(decision: .escalate, reason: "the lease has ended"))
        }
    }

    // MARK: - Work ending

    private func finished(_ leaseID: String, _ result: AgentResult, now: Int64) {
        guard let work = running.removeValue(forKey: leaseID) else { return }
        denyAsks(of: leaseID)
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
            files: result.files.map { Array($0.prefix(WireLimits.maxFiles)) }
        )
        let header = self.header(.report)
        let frames = codec.frames(header, body)
        outbox.append(Pending(id: header.id, leaseID: leaseID, frames: frames, sentAt: now))
        reportLeases[leaseID] = work.lease
        loop.send(OutboundMessage(socket: 0, frames: frames))
        logger.info("finished", metadata: ["drover.lease": "\(leaseID)", "drover.outcome": "\(outcome.rawValue)"])
    }

    // MARK: - Time

    private func tick(now: Int64) {
        if !registered {
            if now - lastRegister >= heartbeatMs { register(now: now) }
            return
        }
        if now - lastHeartbeat >= heartbeatMs {
            lastHeartbeat = now
            send(.heartbeat, HeartbeatBody(leases: holding.map(\.leaseId), draining: draining ? true : nil))
        }
        let resend = configuration.resendInterval.milliseconds
        for index in outbox.indices where now - outbox[index].sentAt >= resend {
            outbox[index].sentAt = now
            loop.send(OutboundMessage(socket: 0, frames: outbox[index].frames))
        }
        if draining && now - drainStarted >= configuration.drainTimeout.milliseconds {
            for leaseID in running.keys where running[leaseID]?.handingBack == false {
                running[leaseID]?.handingBack = true
                running[leaseID]?.task.cancel()
            }
        }
    }

    // MARK: - Shutdown

    private func startDraining(now: Int64) {
        guard !draining else { return }
        draining = true
        drainStarted = now
        logger.info("draining: finishing running work, then leaving", metadata: ["drover.running": "\(running.count)"])
        if registered {
            lastHeartbeat = now
            send(.heartbeat, HeartbeatBody(leases: holding.map(\.leaseId), draining: true))
        }
    }

    private func finishDrainIfDone(now: Int64) {
        guard draining, !isDone, running.isEmpty else { return }
        // Reports wait for their acks a little longer than the work did; an unreachable coordinator cannot hold us.
        let flushLimit = configuration.drainTimeout.milliseconds + 5_000
        guard outbox.isEmpty || now - drainStarted > flushLimit else { return }
        if !outbox.isEmpty {
            logger.error("leaving with unacknowledged reports", metadata: ["drover.reports": "\(outbox.count)"])
        }
        send(.bye, ByeBody(reason: "shutting down"))
        isDone = true
    }
}
