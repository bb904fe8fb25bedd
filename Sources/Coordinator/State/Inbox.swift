import DroverProtocol

/// What waits for a human to decide: sessions' questions and approvals on any worker, jobs' permissions, and merges
/// that could not be done. Kept in memory: after a restart, sessions ask again, and jobs, merge queues, cost caps and
/// the advice sessions wait for put their items back from their stored state.
struct Inbox {
    /// Who waits for an item's answer.
    enum Destination: Sendable, Equatable {
        /// A session, under its lease; `item` is the worker's own name for the item.
        case session(leaseID: String, item: String)
        /// A job, waiting for its permissions.
        case job(String)
        /// A plan's merge queue, waiting for the operators to retry or leave out an escalated merge.
        case merge(TodoKey)
        /// A plan paused at its cost cap, waiting for a new cap or a stop.
        case costCap(String)
        /// A TODO paused at its cost cap (`budget.cost`), waiting for a new cap or a stop.
        case todoCostCap(TodoKey)
        /// A session's recovery request, waiting for an operator's answer to its advisor's question
        /// (``CoordinatorCore/pendingAdvice``, by `<lease>#<item>`).
        case advice(String)
    }

    /// An inbox item and where its answer goes.
    struct Waiting: Sendable {
        var item: InboxItem
        var destination: Destination
        /// Monotonic milliseconds after which the policy default answers it.
        var deadline: Int64?

        /// A session's item.
        init(item: InboxItem, leaseID: String, workerItem: String, deadline: Int64?) {
            self.init(item: item, destination: .session(leaseID: leaseID, item: workerItem), deadline: deadline)
        }

        init(item: InboxItem, destination: Destination, deadline: Int64?) {
            self.item = item
            self.destination = destination
            self.deadline = deadline
        }
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

    subscript(id: String) -> Waiting? { waiting[id] }

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
        let gone = waiting.values.filter {
            if case .session(leaseID, _) = $0.destination { true } else { false }
        }.sorted { $0.item.askedAt < $1.item.askedAt }
        for item in gone { waiting[item.item.id] = nil }
        return gone
    }
}
