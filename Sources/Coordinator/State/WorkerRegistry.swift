import DroverProtocol

/// The connected workers: who they are, what they hold, and whether they can take work now. Kept in memory only: a
/// restarted coordinator learns its workers again from `register`.
struct WorkerRegistry {
    private(set) var workers: [String: WorkerRecord] = [:]

    subscript(id: String) -> WorkerRecord? { workers[id] }

    var count: Int { workers.count }
    var ids: Dictionary<String, WorkerRecord>.Keys { workers.keys }
    var all: Dictionary<String, WorkerRecord>.Values { workers.values }

    /// Adds or replaces a worker from its `register`; `holding` are the leases it keeps. Returns whether it was
    /// known before.
    mutating func register(_ body: RegisterBody, holding: Set<String>, now: Int64) -> Bool {
        let known = workers[body.worker] != nil
        workers[body.worker] = WorkerRecord(
            id: body.worker,
            host: body.host,
            slots: body.slots,
            labels: Set(body.labels),
            draining: body.draining,
            lastSeen: now,
            leases: holding
        )
        return known
    }

    /// A message came from `id`; returns false if it is not registered.
    mutating func heard(from id: String, now: Int64) -> Bool {
        guard workers[id] != nil else { return false }
        workers[id]?.lastSeen = now
        return true
    }

    /// Returns true when the worker's draining flag changed.
    mutating func setDraining(_ id: String, _ draining: Bool) -> Bool {
        guard let worker = workers[id], worker.draining != draining else { return false }
        workers[id]?.draining = draining
        return true
    }

    mutating func hold(_ leaseID: String, by id: String) { workers[id]?.leases.insert(leaseID) }

    mutating func release(_ leaseID: String, from id: String) { workers[id]?.leases.remove(leaseID) }

    /// After a rejection: no work for the worker before `restUntil`, and not this TODO before `avoidUntil`.
    mutating func rest(_ id: String, until restUntil: Int64, avoiding key: TodoKey, until avoidUntil: Int64) {
        workers[id]?.restUntil = restUntil
        workers[id]?.rejected[key] = avoidUntil
    }

    /// Forgets a worker; returns what it was.
    mutating func remove(_ id: String) -> WorkerRecord? { workers.removeValue(forKey: id) }

    /// Workers silent for longer than `ttl`.
    func silent(now: Int64, ttl: Int64) -> [WorkerRecord] {
        workers.values.filter { now - $0.lastSeen > ttl }.sorted { $0.id < $1.id }
    }

    /// Workers that can take work now, with how many slots they have free.
    func free(now: Int64) -> [String: Int] {
        var free: [String: Int] = [:]
        for worker in workers.values where worker.freeSlots > 0 && worker.restUntil <= now { free[worker.id] = worker.freeSlots }
        return free
    }

    /// The worker with the most free slots among `candidates` that offers every label the TODO needs and has not
    /// refused it lately.
    func best(for todo: TodoRecord, among candidates: [String: Int], now: Int64) -> String? {
        var best: String?
        var bestFree = 0
        for (id, free) in candidates where free > bestFree {
            guard let worker = workers[id] else { continue }
            if (todo.spec.labels.isEmpty || worker.labels.isSuperset(of: todo.spec.labels)) && (worker.rejected[todo.key] ?? 0) <= now {
                best = id
                bestFree = free
            }
        }
        return best
    }

    /// Slots of workers taking work, and how many of those are free.
    var slots: (total: Int, free: Int, busy: Int) {
        var total = 0
        var free = 0
        var busy = 0
        for worker in workers.values {
            busy += worker.leases.count
            guard !worker.draining else { continue }
            total += worker.slots
            free += worker.freeSlots
        }
        return (total, free, busy)
    }
}
