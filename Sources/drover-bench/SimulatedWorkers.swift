import DroverProtocol
import DroverTransport
import Foundation
import Synchronization

/// Figures shared between the simulated workers' thread and the benchmark.
final class SimulationCounters: Sendable {
    let registered = Atomic<Int>(0)
    let acks = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    /// While set, every tick sends a heartbeat on every socket (the ingest benchmark).
    let flood = Atomic<Bool>(false)
    let floodSent = Atomic<Int>(0)
    /// Agent events the codex benchmark received.
    let agentEvents = Atomic<Int>(0)
}

/// Many workers on one thread, one DEALER each, that take every assignment and report it done at once.
///
/// They speak the real protocol to a real coordinator process, so what is measured is the coordinator: decoding,
/// scheduling, fencing, SQLite commits, replies.
final class SimulatedWorkers: SocketLoopHandler {
    private let ids: [String]
    private let slots: Int
    private let counters: SimulationCounters
    private let codec = WireCodec()
    private var registered: [Bool]
    private var lastRegister: [ContinuousClock.Instant?]
    private var lastHeartbeat = ContinuousClock.now
    private var seq: UInt64 = 0
    /// Heartbeats each worker sends per tick while flooding.
    static let floodBurst = 4
    /// One pre-encoded heartbeat per worker, so flooding costs the sender nothing but the send.
    private let heartbeats: [[Data]]

    init(ids: [String], slots: Int, counters: SimulationCounters) {
        self.ids = ids
        self.slots = slots
        self.counters = counters
        registered = Array(repeating: false, count: ids.count)
        lastRegister = Array(repeating: nil, count: ids.count)
        heartbeats = ids.map { id in WireCodec().frames(Header(type: .heartbeat, id: "\(id)-hb", seq: 0), HeartbeatBody(leases: [])) }
    }

    /// - Parameter highWaterMark: messages a worker queues before sends fail (libzmq's own default is 1,000).
    /// - Parameter security: the workers' CURVE keys (all share one), or none.
    static func sockets(
        count: Int,
        endpoint: String,
        prefix: String,
        highWaterMark: Int32 = 100_000,
        security: SocketSecurity = .none
    ) -> ([String], [SocketSpec]) {
        let ids = (0..<count).map { "\(prefix)-\($0)" }
        return (
            ids,
            ids.map {
                SocketSpec(
                    .dealer,
                    connect: [endpoint],
                    routingID: $0,
                    highWaterMark: highWaterMark,
                    lingerMilliseconds: 0,
                    security: security
                )
            }
        )
    }

    private func nextHeader(_ type: MessageType) -> Header {
        seq += 1
        return Header(type: type, id: "sim-\(seq)", seq: seq)
    }

    func received(_ batch: [InboundMessage], sender: SocketLoop.Sender) {
        for message in batch where message.frames.count == 2 {
            guard let header = try? codec.header(from: message.frames[0]) else { continue }
            let socket = message.socket
            switch header.type {
            case .welcome:
                if !registered[socket] {
                    registered[socket] = true
                    counters.registered.add(1, ordering: .relaxed)
                }
            case .assign:
                guard let assign = try? codec.body(AssignBody.self, from: message.frames[1]) else { continue }
                let lease = assign.lease
                try? sender.send(
                    socket: socket,
                    codec.frames(nextHeader(.accept), LeaseAnswerBody(leaseId: lease.leaseId, epoch: lease.epoch))
                )
                let report = ReportBody(
                    leaseId: lease.leaseId,
                    epoch: lease.epoch,
                    outcome: .succeeded,
                    exitCode: 0,
                    summary: "no-op",
                    outputTail: "",
                    durationMs: 0,
                    checks: []
                )
                try? sender.send(socket: socket, codec.frames(nextHeader(.report), report))
            case .ack:
                counters.acks.add(1, ordering: .relaxed)
            case .error:
                counters.errors.add(1, ordering: .relaxed)
                // A worker the coordinator lost (a starved machine can delay heartbeats past the TTL) registers
                // again, as a real worker does; its TODOs were requeued and go out again.
                if registered[socket], let error = try? codec.body(ErrorBody.self, from: message.frames[1]),
                    error.code == .unknownWorker
                {
                    registered[socket] = false
                    counters.registered.add(-1, ordering: .relaxed)
                }
            default:
                break
            }
        }
    }

    func tick(sender: SocketLoop.Sender) {
        let now = ContinuousClock.now
        for index in ids.indices where !registered[index] {
            if let last = lastRegister[index], now - last < .milliseconds(250) { continue }
            lastRegister[index] = now
            let body = RegisterBody(worker: ids[index], host: "bench", slots: slots, labels: [], holding: [])
            try? sender.send(socket: index, codec.frames(nextHeader(.register), body))
        }
        if counters.flood.load(ordering: .relaxed) {
            // A few heartbeats per worker each tick, back to back: libzmq then wakes its I/O thread once per burst
            // rather than once per message, so one sending thread can offer more than the coordinator absorbs.
            var sent = 0
            for index in ids.indices where registered[index] {
                for _ in 0..<Self.floodBurst {
                    guard (try? sender.send(socket: index, heartbeats[index])) != nil else { break }
                    sent += 1
                }
            }
            counters.floodSent.add(sent, ordering: .relaxed)
        } else if now - lastHeartbeat >= .milliseconds(500) {
            lastHeartbeat = now
            for index in ids.indices where registered[index] { try? sender.send(socket: index, heartbeats[index]) }
        }
    }
}
