import DroverProtocol
import Foundation
import Logging

@testable import Worker

/// Drives a ``WorkerCore`` directly with the coordinator's messages and a hand-moved clock, and reads back what it
/// does. No sockets, no agents: a run "finishes" when the test says so.
final class WorkerHarness {
    let codec = WireCodec()
    let core: WorkerCore
    var now: Int64 = 0
    /// The coordinator's instance, as its `welcome` and heartbeats name it.
    var instance = "c1"
    private var seq: UInt64 = 0

    init(
        slots: Int = 1,
        drainTimeout: Duration = .seconds(30),
        resendInterval: Duration = .seconds(1),
        heartbeatInterval: Duration = .milliseconds(500)
    ) {
        core = WorkerCore(
            configuration: WorkerConfiguration(
                id: "w1",
                host: "test",
                slots: slots,
                workdir: "/nonexistent",
                drainTimeout: drainTimeout,
                resendInterval: resendInterval,
                heartbeatInterval: heartbeatInterval
            ),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    // MARK: - Inputs

    @discardableResult
    func input(_ input: WorkerInput) throws -> Effects {
        try Effects(core.handle(input, now: now))
    }

    /// A message from the coordinator.
    @discardableResult
    func fromCoordinator<Body: Encodable>(_ type: MessageType, _ body: Body) throws -> Effects {
        seq += 1
        let header = Header(type: type, id: "\(instance)-\(seq)", seq: seq)
        return try input(.messages([codec.frames(header, body)]))
    }

    @discardableResult
    func tick(advancing milliseconds: Int64 = 0) throws -> Effects {
        now += milliseconds
        return try input(.tick)
    }

    // MARK: - The coordinator's side of a conversation

    /// Ticks (which registers) and welcomes the worker.
    @discardableResult
    func registered() throws -> Effects {
        try tick()
        return try welcome()
    }

    @discardableResult
    func welcome(abort: [String] = [], heartbeatMs: Int64 = 500) throws -> Effects {
        try fromCoordinator(.welcome, WelcomeBody(instance: instance, heartbeatMs: heartbeatMs, leaseTtlMs: 2000, abort: abort))
    }

    /// The coordinator's heartbeat, naming `instance` (a new one means it restarted).
    @discardableResult
    func heartbeat(instance: String? = nil) throws -> Effects {
        try fromCoordinator(.heartbeat, HeartbeatBody(instance: instance ?? self.instance))
    }

    /// Assigns TODO `todo` of plan `p`; the lease id is `p/<todo>@<epoch>`.
    @discardableResult
    func assign(_ todo: String, epoch: Int64 = 1) throws -> Effects {
        try fromCoordinator(.assign, Self.assign(todo, epoch: epoch))
    }

    static func assign(_ todo: String, epoch: Int64 = 1) -> AssignBody {
        AssignBody(
            lease: LeaseRef(leaseId: "p/\(todo)@\(epoch)", plan: "p", todo: todo, epoch: epoch),
            ttlMs: 2000,
            task: TaskSpec(title: todo, command: "true", prompt: nil, timeoutSeconds: nil, checks: [])
        )
    }

    @discardableResult
    func ack(_ ref: String) throws -> Effects {
        try fromCoordinator(.ack, AckBody(ref: ref))
    }

    @discardableResult
    func error(_ code: ProtocolError.Code, ref: String? = nil, leaseID: String? = nil) throws -> Effects {
        try fromCoordinator(.error, ErrorBody(code: code, message: "refused", ref: ref, leaseId: leaseID))
    }

    @discardableResult
    func control(_ action: ControlAction, _ leaseID: String, item: String? = nil, decision: Decision? = nil) throws -> Effects {
        try fromCoordinator(.control, ControlBody(action: action, leaseId: leaseID, reason: "test", item: item, decision: decision))
    }

    /// The work of a lease ended (what the service feeds back when a run's task returns).
    @discardableResult
    func finish(_ leaseID: String, _ outcome: Outcome = .succeeded) throws -> Effects {
        try input(.finished(leaseID: leaseID, AgentResult(outcome: outcome, exitCode: 0, summary: outcome.rawValue)))
    }
}

/// What the core did in answer to one input: its effects, with the messages it sent decoded.
struct Effects {
    struct Message {
        var header: Header
        var body: Data

        func decode<Body: WireBody>(_ type: Body.Type) throws -> Body { try WireCodec().body(type, from: body) }
    }

    var all: [WorkerEffect]
    var messages: [Message]

    init(_ effects: [WorkerEffect]) throws {
        all = effects
        messages = try effects.compactMap { effect in
            guard case .send(let frames) = effect else { return nil }
            return Message(header: try WireCodec().header(from: frames[0]), body: frames[1])
        }
    }

    /// The types of the messages sent, in order.
    var types: [MessageType] { messages.map(\.header.type) }

    /// The bodies of the messages of one type.
    func bodies<Body: WireBody>(_ type: MessageType, as: Body.Type) throws -> [Body] {
        try messages.filter { $0.header.type == type }.map { try $0.decode(Body.self) }
    }

    /// The ids of the messages of one type.
    func ids(_ type: MessageType) -> [String] { messages.filter { $0.header.type == type }.map(\.header.id) }

    /// The effects other than sending.
    var actions: [WorkerEffect] {
        all.filter {
            if case .send = $0 { return false }
            return true
        }
    }
}
