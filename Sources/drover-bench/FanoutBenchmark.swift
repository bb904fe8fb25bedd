import DroverClients
import DroverProtocol
import DroverTransport
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// (e) Event fan-out: events a second delivered to each of `observers` followers with none missed (their catch-up
/// repairs whatever the PUB socket drops), and the dashboard's update delay under that load (from an event being
/// recorded to it reaching a WebSocket client of the dashboard).
func fanout(observers: Int, todos: Int) async throws -> [String: JSONValue] {
    try await BenchCoordinator.with { coordinator in try await fanout(on: coordinator, observers: observers, todos: todos) }
}

/// What one observer saw.
private final class ObserverTally: Sendable {
    struct Counts {
        var delivered = 0
        var outOfOrder = 0
        var last: Int64 = 0
    }
    let counts = Mutex(Counts())
}

/// The dashboard client's delays, in milliseconds.
private final class DelayTally: Sendable {
    let delays = Mutex<[Int64]>([])
    let last = Atomic<Int64>(0)
}

private func fanout(on coordinator: BenchCoordinator, observers: Int, todos: Int) async throws -> [String: JSONValue] {
    let counters = SimulationCounters()
    let (ids, sockets) = SimulatedWorkers.sockets(count: 8, endpoint: coordinator.endpoints.work, prefix: "fan")
    return try await SocketLoop.run(name: "bench-fanout", context: try ZMQContext(), sockets: sockets, tick: .milliseconds(10)) { _ in
        SimulatedWorkers(ids: ids, slots: 16, counters: counters)
    } body: { _ in
        try await fanout(on: coordinator, observers: observers, todos: todos, counters: counters)
    }
}

private func fanout(on coordinator: BenchCoordinator, observers: Int, todos: Int, counters: SimulationCounters) async throws
    -> [String: JSONValue]
{
    try await awaitCondition(timeout: .seconds(30), "8 workers to register") { counters.registered.load(ordering: .relaxed) == 8 }
    let start = try await coordinator.control.request(.status, EmptyBody(), as: StatusBody.self).seq

    let tallies = (0..<observers).map { _ in ObserverTally() }
    let follower = EventFollower(events: coordinator.endpoints.events, control: coordinator.endpoints.control)
    var tasks: [Task<Void, any Error>] = tallies.map { tally in
        Task {
            try await follower.follow(after: start) { event in
                tally.counts.withLock { counts in
                    if event.seq != counts.last + 1 && counts.last != 0 { counts.outOfOrder += 1 }
                    if counts.last == 0 && event.seq != start + 1 { counts.outOfOrder += 1 }
                    counts.last = event.seq
                    counts.delivered += 1
                }
                return true
            }
        }
    }
    let delays = DelayTally()
    let url = coordinator.dashboard.replacingOccurrences(of: "http://", with: "ws://") + "ws?after=\(start)"
    tasks.append(
        Task {
            try await WebSocketClient.connect(url: url, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })) {
                inbound,
                _,
                _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let event = try? WireCodec().decode(Event.self, from: Data(text.utf8)) else {
                        continue
                    }
                    let delay = wallClockMilliseconds() - event.ts
                    delays.delays.withLock { $0.append(delay) }
                    delays.last.store(event.seq, ordering: .relaxed)
                }
            }
        }
    )
    defer { for task in tasks { task.cancel() } }
    // Let every observer and the dashboard client subscribe before the load starts.
    try await Task.sleep(for: .milliseconds(500))

    let plan = Plan(id: "fanout", title: "fan-out", todos: (0..<todos).map { Todo(id: "t\($0)", command: "true") })
    let began = ContinuousClock.now
    _ = try await coordinator.control.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
    try await awaitCondition(timeout: .seconds(300), "\(todos) TODOs to finish") { counters.acks.load(ordering: .relaxed) >= todos }
    let end = try await coordinator.control.request(.status, EmptyBody(), as: StatusBody.self).seq
    do {
        try await awaitCondition(timeout: .seconds(60), "every observer to reach event #\(end)") {
            tallies.allSatisfy { $0.counts.withLock { $0.last } >= end } && delays.last.load(ordering: .relaxed) >= end
        }
    } catch {
        let reached = tallies.map { $0.counts.withLock { $0.last } }
        throw BenchError("\(error): the observers reached \(reached), the dashboard client \(delays.last.load(ordering: .relaxed))")
    }
    let seconds = Double((ContinuousClock.now - began).milliseconds) / 1000
    let expected = Int(end - start)
    let seen = tallies.map { $0.counts.withLock { $0 } }
    let sorted = delays.delays.withLock { $0 }.sorted()
    func percentile(_ fraction: Double) -> Int64 {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(fraction * Double(sorted.count)))]
    }
    return [
        "observers": .int(Int64(observers)), "todos": .int(Int64(todos)), "events": .int(Int64(expected)), "seconds": .double(seconds),
        "events_per_second_per_observer": .double((Double(expected) / seconds).rounded()),
        "events_per_second_delivered": .double((Double(expected * observers) / seconds).rounded()),
        "missed": .int(Int64(seen.reduce(0) { $0 + max(0, expected - $1.delivered) })),
        "out_of_order": .int(Int64(seen.reduce(0) { $0 + $1.outOfOrder })),
        "dashboard_events": .int(Int64(sorted.count)),
        "dashboard_delay_ms": .object(["p50": .int(percentile(0.5)), "p90": .int(percentile(0.9)), "max": .int(sorted.last ?? 0)]),
    ]
}
