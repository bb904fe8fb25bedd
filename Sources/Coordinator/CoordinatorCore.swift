import DroverProtocol
import DroverTransport
import Foundation
import Logging

/// The coordinator's logic: scheduling, leases, reports, plans and the event log.
///
/// It runs on the socket loop's thread (``CoordinatorHandler``) and is driven by two calls: ``receive(_:now:)`` for
/// each inbound message and ``tick(now:)`` on a timer. Both only change memory and queue replies; ``commit()`` then
/// writes every change of the batch to SQLite in one transaction and hands back what to send, so nothing is said to
/// a worker before it is durable. Time is passed in as monotonic milliseconds, which keeps the logic testable.
final class CoordinatorCore {
    /// Socket indexes, in the order ``CoordinatorService`` makes them.
    enum Socket {
        static let work = 0
        static let events = 1
        static let control = 2
    }

    let configuration: CoordinatorConfiguration
    let instance: String
    let logger: Logger
    let store: Store
    let codec = WireCodec()
    let metrics: CoordinatorMetrics
    let audit: AuditLog?
    /// The authorized keys, when the sockets are CURVE servers: each work and control message's key is checked
    /// against it, and a key removed from it drops its worker.
    let keyRing: KeyRing?

    /// Plans and TODOs, and every change of a TODO's state.
    var todos = TodoTable()
    /// Who holds which TODO; fencing.
    var leases = LeaseTable()
    var workers = WorkerRegistry()
    /// Items waiting for a human.
    var inbox = Inbox()
    /// Jobs: goals on their way to a plan that runs.
    var jobs = JobTable()
    /// Permission decisions remembered per repository.
    var permissions = PermissionMemory()
    /// Each plan's integration branch and the plan of its merges.
    var merges = MergeQueue()
    /// Plan reports made or changed in this batch, for the store.
    var finalized: [(plan: String, json: String)] = []
    /// Plans running an AI review (`<plan>-next`), with the plan each reviews.
    var reviewers: [String: String] = [:]
    /// Plans running advisors (`<plan>-help`), with the plan each advises.
    var advisors: [String: String] = [:]
    /// Recovery requests waiting for their advisor (or for an operator's answer to its question), by
    /// `<lease>#<item>`. Stored: the ids changed since the last commit are in ``changedAdvice``.
    var pendingAdvice: [String: PendingAdvice] = [:] {
        didSet {
            for (id, pending) in pendingAdvice where oldValue[id] != pending { changedAdvice.insert(id) }
            for id in oldValue.keys where pendingAdvice[id] == nil { changedAdvice.insert(id) }
        }
    }
    var changedAdvice: Set<String> = []
    /// Advisors' answers that came with their reports, read when their TODO has ended in the same batch.
    var adviceAnswers: [TodoKey: String] = [:]
    /// Where each advisor's worktree starts: the stuck TODO's branch when its work was checkpointed.
    var adviceBases: [TodoKey: String] = [:]
    /// Reviewers' answers that came with their reports, read when their TODO has ended in the same batch.
    var reviewAnswers: [TodoKey: (output: String, model: String?)] = [:]
    /// Ready TODOs held back because they may touch the files of a running one, with it (so each is said once).
    var overlapHolds: [TodoKey: TodoKey] = [:]
    /// Running TODOs an operator asked to pause whose sessions have not stopped yet: if one comes back to the queue
    /// meanwhile (its worker lost, or handed back), it waits paused. In memory: a restart forgets the request.
    var pausing: Set<TodoKey> = []
    /// The key each worker's messages last came with, on keyed sockets: a key removed drops its worker.
    var workerKeys: [String: String] = [:]
    /// Keys no longer authorized whose messages were refused: logged once each, not at every heartbeat.
    var refusedKeys: Set<String> = []
    var lastKeyCheck: Int64 = 0
    /// Keys no longer authorized whose connections are to be cut, with when: a moment after the revocation, so that
    /// the `forbidden` a revoked worker is sent leaves before its connection goes.
    var pendingCuts: [String: Int64] = [:]
    /// When every event subscriber's connection is to be cut, after the revocation of a key that may subscribe.
    var subscriberCutAt: Int64?
    /// TODOs paused at their cost cap whose sessions have not stopped yet: the operators raised the cap (resume when
    /// stopped) or denied it (escalate then, with the reason). In memory: after a restart the question is asked again.
    var costCapResumes: Set<TodoKey> = []
    var costCapDenied: [TodoKey: String] = [:]
    var counters: [String: Int64] = [:]
    var lastSeq: Int64 = 0
    /// Every message received, valid or not (reported as the `received` counter).
    var receivedMessages: Int64 = 0

    /// Events recorded since the last commit, with their JSON.
    private var recorded: [(event: Event, json: String)] = []
    private var outgoing: [OutboundMessage] = []
    private var messageCounter: UInt64 = 0
    private var lastHeartbeat: Int64 = -1_000_000_000

    /// Wall-clock milliseconds at the monotonic time given: the clock parked TODOs resume by (their reset times are
    /// wall-clock times, kept across restarts). Tests set it to move with their hand-moved clock.
    var wallClock: @Sendable (_ now: Int64) -> Int64 = { _ in wallClockMilliseconds() }
    var heartbeatMs: Int64 { configuration.heartbeatInterval.milliseconds }
    var ttlMs: Int64 { configuration.leaseTTL.milliseconds }

    /// A core on `store`'s state, as a coordinator starts (or restarts); `announce` records `coordinator.started`.
    init(
        configuration: CoordinatorConfiguration,
        store: Store,
        logger: Logger,
        metrics: CoordinatorMetrics = CoordinatorMetrics(),
        audit: AuditLog? = nil,
        keyRing: KeyRing? = nil,
        now: Int64,
        announce: Bool = true
    ) throws {
        self.configuration = configuration
        self.keyRing = keyRing
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.audit = audit
        self.instance = String(UUID().uuidString.prefix(8)).lowercased()
        try recover(from: store.load(), now: now, announce: announce)
    }

    // MARK: - Batches

    /// Whether something changed that the next ``commit()`` must write.
    var hasUncommittedChanges: Bool {
        todos.hasChanges || leases.hasChanges || jobs.hasChanges || permissions.hasChanges || merges.hasChanges || !finalized.isEmpty
            || !recorded.isEmpty || !changedAdvice.isEmpty
    }

    /// Writes every change since the last commit in one transaction, then hands back the replies and events to send.
    func commit() throws -> [OutboundMessage] {
        var changes = Store.Changes()
        todos.takeChanges(into: &changes)
        leases.takeChanges(into: &changes)
        jobs.takeChanges(into: &changes)
        permissions.takeChanges(into: &changes)
        merges.takeChanges(into: &changes)
        changes.planReports = finalized
        finalized.removeAll()
        changes.pendingAdvice = changedAdvice.sorted().map { ($0, pendingAdvice[$0]) }
        changedAdvice.removeAll()
        changes.events = recorded
        recorded.removeAll(keepingCapacity: true)
        // Each event's topic once: it is stored with the event and is the frame the event is published under.
        changes.topics = changes.events.map(\.event.topic)
        try store.write(changes)
        for ((event, json), topic) in zip(changes.events, changes.topics) {
            outgoing.append(OutboundMessage(socket: Socket.events, frames: [Data(topic.utf8), Data(json.utf8)]))
            metrics.observe(event)
        }
        audit?.write(changes.events)
        defer { outgoing.removeAll(keepingCapacity: true) }
        return outgoing
    }

    /// The work-socket messages that carry text from sessions, commands and checks (``Redactor``).
    static let carriesOutput: Set<MessageType> = [.progress, .report, .ask, .recover]

    /// Handles one inbound message.
    func receive(_ message: InboundMessage, now: Int64) {
        receivedMessages += 1
        var role: Role?
        if let keyRing {
            guard let holder = admitted(message, by: keyRing) else { return }
            role = holder.role
        }
        switch message.socket {
        case Socket.work: receiveWork(message.frames, now: now)
        case Socket.control: receiveControl(message.frames, role: role, now: now)
        default: break
        }
    }

    /// Expires leases, sends heartbeats and schedules. Call on a timer and after every batch.
    func tick(now: Int64) {
        expireLeases(now: now)
        expireInboxItems(now: now)
        resumeParked(now: now)
        if keyRing != nil, now - lastKeyCheck >= 1000 {
            lastKeyCheck = now
            revokeRemovedKeys(now: now)
        }
        if now - lastHeartbeat >= heartbeatMs {
            lastHeartbeat = now
            refreshGauges()
            for id in workers.ids {
                send(Socket.work, to: id, .heartbeat, HeartbeatBody(instance: instance))
            }
        }
        schedule(now: now)
    }

    /// A message could not be delivered; for the work socket this means the worker is gone.
    func sendFailed(_ message: OutboundMessage, error: ZMQError, now: Int64) {
        guard message.socket == Socket.work, error.isHostUnreachable, let first = message.frames.first else { return }
        let worker = String(decoding: first, as: UTF8.self)
        if workers[worker] != nil {
            dropWorker(worker, type: .workerLost, reason: "worker \(worker) lost: it is no longer connected", now: now)
        }
    }

    // MARK: - Work socket

    private func receiveWork(_ frames: [Data], now: Int64) {
        var frames = frames
        let routingID = frames[0]
        guard frames.count == 3 else {
            refuse(
                Socket.work,
                routingID,
                ProtocolError(.badFrames, "expected [header][body] after the routing id, got \(frames.count - 1) frames")
            )
            return
        }
        let header: Header
        do {
            header = try codec.header(from: frames[1])
        } catch {
            refuse(Socket.work, routingID, error)
            return
        }
        // The messages that carry what sessions and commands said lose their secrets before anything reads them; a
        // body over the limit is refused unread.
        if Self.carriesOutput.contains(header.type), frames[2].count <= WireLimits.bodyBytes {
            frames[2] = configuration.redactor.redact(frames[2])
        }
        let peer = String(decoding: routingID, as: UTF8.self)
        do throws(ProtocolError) {
            if header.type == .register {
                let body = try codec.body(RegisterBody.self, from: frames[2], ref: header.id)
                guard body.worker == peer else {
                    throw ProtocolError(
                        .badField,
                        "field 'worker' (\(body.worker)) must equal the socket's routing id (\(peer))",
                        ref: header.id
                    )
                }
                register(body, ref: header.id, now: now)
                return
            }
            guard workers.heard(from: peer, now: now) else {
                throw ProtocolError(
                    .unknownWorker,
                    "worker \(peer.prefix(64)) is not registered here: send 'register' first",
                    ref: header.id
                )
            }
            switch header.type {
            case .heartbeat:
                let body = try codec.body(HeartbeatBody.self, from: frames[2], ref: header.id)
                heartbeat(body, from: peer, now: now)
            case .accept:
                let body = try codec.body(LeaseAnswerBody.self, from: frames[2], ref: header.id)
                try accept(body, from: peer, ref: header.id)
            case .reject:
                let body = try codec.body(LeaseAnswerBody.self, from: frames[2], ref: header.id)
                try reject(body, from: peer, ref: header.id, now: now)
            case .progress:
                let body = try codec.body(ProgressBody.self, from: frames[2], ref: header.id)
                try progress(body, from: peer, ref: header.id)
            case .report:
                let body = try codec.body(ReportBody.self, from: frames[2], ref: header.id)
                try report(body, seq: header.seq, from: peer, ref: header.id, now: now)
            case .ask:
                let body = try codec.body(AskBody.self, from: frames[2], ref: header.id)
                try ask(body, from: peer, ref: header.id, now: now)
            case .recover:
                let body = try codec.body(RecoverBody.self, from: frames[2], ref: header.id)
                try recover(body, from: peer, ref: header.id)
            case .bye:
                let body = try codec.body(ByeBody.self, from: frames[2], ref: header.id)
                dropWorker(peer, type: .workerLeft, reason: "worker \(peer) left: \(body.reason)", now: now)
            default:
                throw ProtocolError(
                    .unknownType,
                    "'\(header.type.rawValue)' is not accepted from a worker on the work socket",
                    ref: header.id
                )
            }
        } catch {
            refuse(Socket.work, routingID, error)
        }
    }

    /// Counts, logs and answers a refused message. Never throws: a bad message harms nobody else.
    func refuse(_ socket: Int, _ routingID: Data, _ error: ProtocolError) {
        refuse(socket, [routingID], error)
    }

    /// Counts, logs and answers a refused message, replying with the request's envelope.
    /// - Parameter log: false for a refusal already logged for this peer (a removed key's every heartbeat).
    func refuse(_ socket: Int, _ envelope: [Data], _ error: ProtocolError, log: Bool = true) {
        let routingID = envelope[0]
        count("rejected.\(error.code)")
        if log {
            logger.notice(
                "refused a message",
                metadata: ["drover.peer": "\(String(decoding: routingID.prefix(64), as: UTF8.self))", "drover.error": "\(error)"]
            )
        }
        outgoing.append(OutboundMessage(socket: socket, frames: envelope + codec.frames(header(.error), error.body)))
    }

    // MARK: - Sending and recording

    func header(_ type: MessageType) -> Header {
        messageCounter += 1
        return Header(type: type, id: "\(instance)-\(messageCounter)", seq: messageCounter)
    }

    func send<Body: Encodable>(_ socket: Int, to peer: String, _ type: MessageType, _ body: Body) {
        outgoing.append(OutboundMessage(socket: socket, frames: [Data(peer.utf8)] + codec.frames(header(type), body)))
    }

    func reply<Body: Encodable>(_ socket: Int, to envelope: [Data], _ type: MessageType, _ body: Body) {
        outgoing.append(OutboundMessage(socket: socket, frames: envelope + codec.frames(header(type), body)))
    }

    /// Appends an event to the log; it is stored with the batch and published after the commit.
    func record(_ type: EventType, plan: String? = nil, todo: String? = nil, worker: String? = nil, _ data: [String: JSONValue] = [:]) {
        lastSeq += 1
        let event = Event(seq: lastSeq, ts: wallClockMilliseconds(), type: type, plan: plan, todo: todo, worker: worker, data: data)
        recorded.append((event, event.json))
    }

    func count(_ counter: String, by amount: Int64 = 1) {
        counters[counter, default: 0] += amount
        metrics.count(counter, by: amount)
    }

    /// Sets the metrics' gauges from the state.
    func refreshGauges() {
        var states: [String: Int] = [:]
        for todo in todos.todos.values { states[todo.state.rawValue, default: 0] += 1 }
        var jobStates: [JobState: Int] = [:]
        for job in jobs.jobs.values { jobStates[job.state, default: 0] += 1 }
        metrics.refresh(
            todos: states,
            jobs: jobStates,
            workers: workers.count,
            slots: workers.all.reduce(0) { $0 + $1.slots },
            busySlots: workers.all.reduce(0) { $0 + $1.leases.count },
            inbox: inbox.count
        )
    }
}
