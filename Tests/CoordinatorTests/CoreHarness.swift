import DroverProtocol
import DroverTransport
import Foundation
import Logging

@testable import Coordinator

/// Drives a ``CoordinatorCore`` directly with frames and a hand-moved clock, and reads back what it sends.
final class CoreHarness {
    let codec = WireCodec()
    var store: Store
    var core: CoordinatorCore
    var now: Int64 = 0
    /// The wall clock at `now` 0: the core's wall clock (for parked TODOs' reset times) moves with `now`.
    static let wallBase: Int64 = 1_900_000_000_000
    var wallNow: Int64 { Self.wallBase + now }
    private var seq: UInt64 = 0
    let configuration: CoordinatorConfiguration
    /// The authorized keys, for a core whose sockets have keys.
    let keyRing: KeyRing?
    /// The user id (key) each peer's messages carry, by peer: a worker's id, or the operator's name in ``control(_:_:from:)``.
    var userIDs: [String: String] = [:]

    init(
        statePath: String = ":memory:",
        inboxTimeout: Duration? = .seconds(1800),
        auditLogPath: String? = nil,
        auditLogMaxBytes: Int = 10 << 20,
        advisor: AdvisorPolicy = AdvisorPolicy(),
        prices: PriceTable = PriceTable(),
        planCostCap: Double? = nil,
        maxPark: Duration = CoordinatorConfiguration.defaultMaxPark,
        keyRing: KeyRing? = nil
    ) throws {
        self.keyRing = keyRing
        configuration = CoordinatorConfiguration(
            endpoints: Endpoints(),
            statePath: statePath,
            heartbeatInterval: .milliseconds(500),
            leaseTTL: .seconds(2),
            advisor: advisor,
            prices: prices,
            planCostCap: planCostCap,
            inboxTimeout: inboxTimeout,
            auditLogPath: auditLogPath,
            auditLogMaxBytes: auditLogMaxBytes,
            maxPark: maxPark
        )
        store = try Store(path: statePath)
        core = try CoordinatorCore(
            configuration: configuration,
            store: store,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            audit: auditLogPath.map { AuditLog(path: $0, maxBytes: auditLogMaxBytes) },
            keyRing: keyRing,
            now: 0
        )
        core.wallClock = { $0 + Self.wallBase }
    }

    /// Starts a new core on the same state file, as a restarted coordinator would.
    func restart() throws {
        store = try Store(path: configuration.statePath)
        core = try CoordinatorCore(
            configuration: configuration,
            store: store,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            audit: configuration.auditLogPath.map { AuditLog(path: $0, maxBytes: configuration.auditLogMaxBytes) },
            keyRing: keyRing,
            now: now
        )
        core.wallClock = { $0 + Self.wallBase }
    }

    /// A message as it arrives on the work socket from `worker`.
    @discardableResult
    func fromWorker<Body: Encodable>(_ worker: String, _ type: MessageType, _ body: Body, seq: UInt64? = nil) throws -> [Sent] {
        self.seq += 1
        let header = Header(type: type, id: "\(worker)-\(self.seq)", seq: seq ?? self.seq)
        core.receive(
            InboundMessage(socket: 0, frames: [Data(worker.utf8)] + codec.frames(header, body), userID: userIDs[worker]),
            now: now
        )
        core.schedule(now: now)
        return try flush()
    }

    /// Raw frames on a socket.
    @discardableResult
    func raw(_ socket: Int, _ frames: [Data]) throws -> [Sent] {
        core.receive(InboundMessage(socket: socket, frames: frames), now: now)
        return try flush()
    }

    @discardableResult
    func control<Body: Encodable>(_ type: MessageType, _ body: Body, from peer: String = "op") throws -> [Sent] {
        seq += 1
        let header = Header(type: type, id: "op-\(seq)", seq: seq)
        core.receive(
            InboundMessage(socket: 2, frames: [Data(peer.utf8)] + codec.frames(header, body), userID: userIDs[peer]),
            now: now
        )
        return try flush()
    }

    @discardableResult
    func tick(advancing milliseconds: Int64 = 0) throws -> [Sent] {
        now += milliseconds
        core.tick(now: now)
        return try flush()
    }

    func flush() throws -> [Sent] {
        try core.commit().map { message in
            if message.socket == 1 {
                return Sent(socket: 1, to: String(decoding: message.frames[0], as: UTF8.self), header: nil, body: message.frames[1])
            }
            let header = try codec.header(from: message.frames[1])
            return Sent(
                socket: message.socket,
                to: String(decoding: message.frames[0], as: UTF8.self),
                header: header,
                body: message.frames[2]
            )
        }
    }

    @discardableResult
    func register(_ worker: String, slots: Int = 1, labels: [String] = [], holding: [LeaseRef] = []) throws -> [Sent] {
        try fromWorker(worker, .register, RegisterBody(worker: worker, host: "test", slots: slots, labels: labels, holding: holding))
    }

    @discardableResult
    func submit(_ plan: Plan) throws -> [Sent] {
        try control(.submit, SubmitBody(plan: plan))
    }

    func state(_ plan: String, _ todo: String) -> String? {
        core.todos[TodoKey(plan: plan, todo: todo)]?.state.rawValue
    }

    /// The report of `assign`'s work, with a step's answer (`output`) or a merge's result (`merge`) when given.
    @discardableResult
    func report(
        _ worker: String,
        _ assign: AssignBody,
        _ outcome: Outcome = .succeeded,
        seq: UInt64? = nil,
        output: String? = nil,
        merge: MergeResult? = nil,
        checks: [CheckResult] = [],
        diffStat: DiffStat? = nil,
        resumeAt: Int64? = nil,
        summary: String? = nil,
        usage: TokenUsage? = nil,
        model: String? = nil,
        threadId: String? = nil
    ) throws -> [Sent] {
        try fromWorker(
            worker,
            .report,
            ReportBody(
                leaseId: assign.lease.leaseId,
                epoch: assign.lease.epoch,
                outcome: outcome,
                exitCode: outcome == .succeeded ? 0 : 1,
                summary: summary ?? outcome.rawValue,
                outputTail: "",
                durationMs: 1,
                checks: checks,
                tokens: usage?.total,
                diffStat: diffStat,
                usage: usage,
                output: output,
                merge: merge,
                model: model,
                resumeAt: resumeAt,
                threadId: threadId
            ),
            seq: seq
        )
    }
}

/// One message the core sent.
struct Sent {
    var socket: Int
    /// The routing id (work, control) or the topic (events).
    var to: String
    var header: Header?
    var body: Data

    func decode<Body: WireBody>(_ type: Body.Type) throws -> Body { try WireCodec().body(type, from: body) }
    var event: Event? { socket == 1 ? try? WireCodec().decode(Event.self, from: body) : nil }
}

extension [Sent] {
    func assigns(to worker: String? = nil) throws -> [AssignBody] {
        try filter { $0.header?.type == .assign && (worker == nil || $0.to == worker) }.map { try $0.decode(AssignBody.self) }
    }

    func errors() throws -> [ErrorBody] {
        try filter { $0.header?.type == .error }.map { try $0.decode(ErrorBody.self) }
    }

    var events: [Event] { compactMap(\.event) }
    var eventTypes: [String] { events.map(\.type.rawValue) }
}

func plan(_ todos: [Todo], id: String = "p") -> Plan { Plan(id: id, title: id, todos: todos) }
