import Coordinator
import DroverClients
import DroverProtocol
import DroverTransport
import Foundation
import Synchronization
import Worker

/// (a) End-to-end throughput: no-op TODOs through a real coordinator to simulated workers, state durable in SQLite.
/// - Parameter keys: CURVE keys on every socket (the coordinator's, the workers', the operator's), or none.
func throughput(workers: Int, slots: Int, todos: Int, keys: BenchKeys? = nil) async throws -> [String: JSONValue] {
    try await BenchCoordinator.with(keys: keys) { coordinator in
        try await throughput(on: coordinator, workers: workers, slots: slots, todos: todos, keys: keys)
    }
}

private func throughput(on coordinator: BenchCoordinator, workers: Int, slots: Int, todos: Int, keys: BenchKeys?) async throws
    -> [String: JSONValue]
{
    let counters = SimulationCounters()
    let (ids, sockets) = SimulatedWorkers.sockets(
        count: workers,
        endpoint: coordinator.endpoints.work,
        prefix: "sim",
        security: keys?.workerSecurity ?? .none
    )
    return try await SocketLoop.run(
        name: "bench-workers",
        context: try ZMQContext(maxSockets: 4096),
        sockets: sockets,
        tick: .milliseconds(10)
    ) { _ in
        SimulatedWorkers(ids: ids, slots: slots, counters: counters)
    } body: { _ in
        try await throughput(on: coordinator, workers: workers, slots: slots, todos: todos, counters: counters)
    }
}

private func throughput(on coordinator: BenchCoordinator, workers: Int, slots: Int, todos: Int, counters: SimulationCounters) async throws
    -> [String: JSONValue]
{
    try await awaitCondition(timeout: .seconds(30), "\(workers) workers to register") {
        counters.registered.load(ordering: .relaxed) == workers
    }
    let plan = Plan(id: "bench", title: "bench", todos: (0..<todos).map { Todo(id: "t\($0)", command: "true") })
    let cpuBefore = coordinator.cpuSeconds()
    let start = ContinuousClock.now
    _ = try await coordinator.control.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
    var firstDone: ContinuousClock.Instant?
    try await awaitCondition(timeout: .seconds(300), interval: .milliseconds(1), "\(todos) TODOs to finish") {
        let acks = counters.acks.load(ordering: .relaxed)
        if acks > 0 && firstDone == nil { firstDone = ContinuousClock.now }
        return acks >= todos
    }
    let end = ContinuousClock.now
    let seconds = Double((end - start).milliseconds) / 1000
    // Without the one-time cost of taking in and storing the plan: from the first TODO done to the last.
    let flowing = Double(((end - (firstDone ?? start))).milliseconds) / 1000
    let cpu = coordinator.cpuSeconds() - cpuBefore
    let status = try await coordinator.control.request(.status, EmptyBody(), as: StatusBody.self)
    guard status.plans.first?.counts["done"] == todos else { throw BenchError("not every TODO is done: \(status.plans)") }
    return [
        "workers": .int(Int64(workers)), "slots_per_worker": .int(Int64(slots)), "todos": .int(Int64(todos)),
        "seconds": .double(seconds), "todos_per_second": .double((Double(todos) / seconds).rounded()),
        "todos_per_second_after_submit": .double((Double(todos - 1) / max(flowing, 0.001)).rounded()),
        "coordinator_cpu_seconds": .double(cpu), "errors": .int(Int64(counters.errors.load(ordering: .relaxed))),
    ]
}

/// (b) Heartbeat ingest: how many messages a second the coordinator absorbs from many workers, and its CPU.
func heartbeatIngest(workers: Int, seconds: Double, keys: BenchKeys? = nil) async throws -> [String: JSONValue] {
    try await BenchCoordinator.with(keys: keys) { coordinator in
        try await heartbeatIngest(on: coordinator, workers: workers, seconds: seconds, keys: keys)
    }
}

private func heartbeatIngest(on coordinator: BenchCoordinator, workers: Int, seconds: Double, keys: BenchKeys?) async throws
    -> [String: JSONValue]
{
    let counters = SimulationCounters()
    // Queues of libzmq's (and pyzmq's) default depth, as the reference's senders have. With the 100,000-message
    // queues of a real worker's socket the flood's backlog had no bound, and the coordinator dropped workers during
    // the run more often (see `workers_dropped`).
    let (ids, sockets) = SimulatedWorkers.sockets(
        count: workers,
        endpoint: coordinator.endpoints.work,
        prefix: "hb",
        highWaterMark: 1000,
        security: keys?.workerSecurity ?? .none
    )
    return try await SocketLoop.run(
        name: "bench-heartbeats",
        context: try ZMQContext(maxSockets: Int32(workers + 64)),
        sockets: sockets,
        tick: .milliseconds(1)
    ) { _ in
        SimulatedWorkers(ids: ids, slots: 1, counters: counters)
    } body: { _ in
        try await heartbeatIngest(on: coordinator, workers: workers, seconds: seconds, counters: counters)
    }
}

private func heartbeatIngest(on coordinator: BenchCoordinator, workers: Int, seconds: Double, counters: SimulationCounters) async throws
    -> [String: JSONValue]
{
    try await awaitCondition(timeout: .seconds(60), "\(workers) workers to register") {
        counters.registered.load(ordering: .relaxed) == workers
    }
    counters.flood.store(true, ordering: .relaxed)
    try await Task.sleep(for: .seconds(1))  // warm-up: queues fill, the coordinator is saturated
    let before = try await coordinator.control.request(.status, EmptyBody(), as: StatusBody.self).counters["received"] ?? 0
    let sentBefore = counters.floodSent.load(ordering: .relaxed)
    let cpuBefore = coordinator.cpuSeconds()
    let start = ContinuousClock.now
    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    let after = try await coordinator.control.request(.status, EmptyBody(), as: StatusBody.self)
    let elapsed = Double((ContinuousClock.now - start).milliseconds) / 1000
    let cpu = coordinator.cpuSeconds() - cpuBefore
    let sent = counters.floodSent.load(ordering: .relaxed) - sentBefore
    counters.flood.store(false, ordering: .relaxed)
    let received = (after.counters["received"] ?? 0) - before
    let refused = after.counters.filter { $0.key.hasPrefix("rejected.") }.mapValues { JSONValue.int($0) }
    // Workers the coordinator dropped during the run, and why (from its event log).
    let lost = ((try? EventLog.read(statePath: "\(coordinator.directory)/state/state.sqlite", limit: 1_000_000)) ?? [])
        .filter { $0.type == .workerLost }
    var reasons: [String: Int] = [:]
    for event in lost {
        let reason = event.data["reason"]?.stringValue ?? ""
        // "worker hb-7 lost: no heartbeat for 2013 ms" → "no heartbeat for N ms"
        let detail = (reason.split(separator: ":", maxSplits: 1).last ?? Substring(reason)).trimmingCharacters(in: .whitespaces)
        let words = detail.split(separator: " ").map { $0.allSatisfy(\.isNumber) ? "N" : String($0) }
        reasons[words.joined(separator: " "), default: 0] += 1
    }
    return [
        "workers": .int(Int64(workers)), "seconds": .double(elapsed), "messages": .int(received), "refused": .object(refused),
        "messages_per_second": .double((Double(received) / elapsed).rounded()),
        // What the simulated workers managed to queue: well above the rate received, the coordinator is the limit.
        "offered_per_second": .double((Double(sent) / elapsed).rounded()),
        "coordinator_cpu_cores": .double((cpu / elapsed * 100).rounded() / 100),
        "workers_still_registered": .int(Int64(after.workers.count)),
        "workers_dropped": .int(Int64(lost.count)), "dropped_because": .object(reasons.mapValues { .int(Int64($0)) }),
    ]
}

/// (c) Failover: seconds from a worker's death to its TODO running on another worker, default configuration.
///
/// `kill`: SIGKILL, so the kernel closes the connection. `freeze`: SIGSTOP, so the connection stays open and only
/// the missing heartbeats tell (a network partition looks like this).
func failover(mode: String) async throws -> [String: JSONValue] {
    try await BenchCoordinator.with { coordinator in try await failover(on: coordinator, mode: mode) }
}

private func failover(on coordinator: BenchCoordinator, mode: String) async throws -> [String: JSONValue] {
    var workers: [String: GuardedProcess] = [:]
    defer { for worker in workers.values { worker.signal(SIGKILL) } }
    for id in ["fa", "fb"] {
        let worker = try GuardedProcess(
            arguments: [
                BenchCoordinator.droverPath, "worker", "--id", id, "--coordinator", coordinator.endpoints.work,
                "--workdir", coordinator.directory, "--log-level", "error",
            ],
            environment: ProcessInfo.processInfo.environment,
            directory: coordinator.directory
        )
        Task { for await _ in worker.output {} }
        workers[id] = worker
    }
    let control = coordinator.control
    try await awaitCondition(timeout: .seconds(30), "two workers") {
        try await control.request(.status, EmptyBody(), as: StatusBody.self).workers.count == 2
    }
    let plan = Plan(id: "failover", title: "failover", todos: [Todo(id: "long", command: "sleep 120")])
    _ = try await control.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
    var victim = ""
    try await awaitCondition(timeout: .seconds(30), "the TODO to run") {
        let todo = try await control.request(.status, EmptyBody(), as: StatusBody.self).todos.first
        victim = todo?.worker ?? ""
        return todo?.state == .running
    }
    let start = ContinuousClock.now
    workers[victim]?.signal(mode == "kill" ? SIGKILL : SIGSTOP)
    var newWorker = ""
    try await awaitCondition(timeout: .seconds(30), interval: .milliseconds(5), "the TODO to run elsewhere") {
        let todo = try await control.request(.status, EmptyBody(), as: StatusBody.self).todos.first
        newWorker = todo?.worker ?? ""
        return todo?.state == .running && todo?.epoch == 2
    }
    let seconds = Double((ContinuousClock.now - start).milliseconds) / 1000
    return ["mode": .string(mode), "seconds_to_running_elsewhere": .double(seconds), "from": .string(victim), "to": .string(newWorker)]
}
