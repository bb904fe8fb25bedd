import DroverProtocol

/// What sessions on any worker wait for a human to decide. Kept in memory: after a restart, sessions ask again.
struct Inbox {
    /// An inbox item and where its answer goes.
    struct Waiting: Sendable {
        var item: InboxItem
        var leaseID: String
        /// The worker's own name for the item.
        var workerItem: String
        /// Monotonic milliseconds after which the policy default answers it.
        var deadline: Int64?
    }

    private(set) var waiting: [String: Waiting] = [:]

    var count: Int { waiting.count }
    var isEmpty: Bool { waiting.isEmpty }

    /// The items, oldest first.
    var items: [InboxItem] { waiting.values.map(\.item).sorted { $0.askedAt < $1.askedAt } }

    /// The inbox id of a worker's item: unique across workers.
    static func id(worker: String, item: String) -> String { "\(worker)-\(item)" }

    /// Adds an item; a resent question (same id) is not added twice. Returns whether it is new.
    mutating func add(_ item: Waiting) -> Bool {
        guard waiting[item.item.id] == nil else { return false }
        waiting[item.item.id] = item
        return true
    }

    /// Takes an item out to answer it.
    mutating func take(_ id: String) -> Waiting? { waiting.removeValue(forKey: id) }

    /// Takes out the items past their deadline.
    mutating func takeExpired(now: Int64) -> [Waiting] {
        let expired = waiting.values.filter { $0.deadline.map { now >= $0 } ?? false }.sorted { $0.item.askedAt < $1.item.askedAt }
        for item in expired { waiting[item.item.id] = nil }
        return expired
    }

    /// Takes out the items of a lease that ended: nobody can answer them any more.
    mutating func takeItems(of leaseID: String) -> [Waiting] {
        let gone = waiting.values.filter { $0.leaseID == leaseID }.sorted { $0.item.askedAt < $1.item.askedAt }
        for item in gone { waiting[item.item.id] = nil }
        return gone
    }
}
