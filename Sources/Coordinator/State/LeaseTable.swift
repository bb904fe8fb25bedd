/// Who may speak for which TODO: the live leases, the leases a restarted coordinator found that wait for their
/// worker to come back, and the reports already processed.
///
/// A lease is `<plan>/<todo>@<epoch>`; the epoch grows by one on every assignment (``TodoTable/assign(_:to:at:)``),
/// so a message under an older lease is told apart and refused (``fence(_:epoch:from:in:)``).
struct LeaseTable {
    /// Live leases by id.
    private(set) var live: [String: TodoKey] = [:]
    /// Leases recovered after a restart whose worker has not registered again yet, with their deadline
    /// (monotonic ms).
    private var orphans: [String: Int64] = [:]
    /// Reports processed, as `lease#seq`: a resent report is acknowledged again and changes nothing.
    private var processed: Set<String> = []
    /// Reports processed since the last ``takeChanges(into:)``.
    private var newlyProcessed: [(leaseID: String, seq: UInt64)] = []
    /// The policy's decisions on recovery requests, by lease and then by the worker's item name, so a resent request
    /// gets the same decision and is counted once. They go with their lease: a later run reuses item names.
    private var recoveryDecisions: [String: [String: RecoveryPolicy.Verdict]] = [:]

    init(processedReports: Set<String> = []) {
        processed = processedReports
    }

    /// The one way a lease id is made.
    static func id(for key: TodoKey, epoch: Int64) -> String { "\(key.plan)/\(key.todo)@\(epoch)" }

    /// The key of a processed report, as the store keeps it.
    static func reportKey(_ leaseID: String, _ seq: UInt64) -> String { "\(leaseID)#\(seq)" }

    var hasChanges: Bool { !newlyProcessed.isEmpty }

    mutating func takeChanges(into changes: inout Store.Changes) {
        changes.reports = newlyProcessed
        newlyProcessed.removeAll(keepingCapacity: true)
    }

    subscript(leaseID: String) -> TodoKey? { live[leaseID] }

    /// A lease goes out.
    mutating func grant(_ leaseID: String, for key: TodoKey) {
        live[leaseID] = key
    }

    /// A lease found after a restart: it lives until `deadline` unless its worker claims it.
    mutating func adopt(_ leaseID: String, for key: TodoKey, until deadline: Int64) {
        live[leaseID] = key
        orphans[leaseID] = deadline
    }

    /// Its worker registered again and declared it.
    mutating func claim(_ leaseID: String) {
        orphans[leaseID] = nil
    }

    /// The lease no longer belongs to anyone.
    mutating func end(_ leaseID: String) {
        live[leaseID] = nil
        orphans[leaseID] = nil
        recoveryDecisions[leaseID] = nil
    }

    /// The decision already taken on the recovery request `item` under a live lease.
    func recoveryDecision(_ item: String, under leaseID: String) -> RecoveryPolicy.Verdict? {
        recoveryDecisions[leaseID]?[item]
    }

    /// Keeps a decision for as long as its lease lives.
    mutating func remember(_ verdict: RecoveryPolicy.Verdict, for item: String, under leaseID: String) {
        guard live[leaseID] != nil else { return }
        recoveryDecisions[leaseID, default: [:]][item] = verdict
    }

    /// Orphaned leases past their deadline, no longer waited for.
    mutating func expireOrphans(now: Int64) -> [(leaseID: String, key: TodoKey)] {
        var expired: [(String, TodoKey)] = []
        for (leaseID, deadline) in orphans where deadline < now {
            orphans[leaseID] = nil
            if let key = live[leaseID] { expired.append((leaseID, key)) }
        }
        return expired.sorted { $0.0 < $1.0 }
    }

    /// Fencing: the TODO the lease belongs to, if the lease is the sender's current one; nil if it is stale
    /// (another epoch, another worker, or ended).
    func fence(_ leaseID: String, epoch: Int64, from worker: String, in todos: TodoTable) -> TodoKey? {
        guard let key = live[leaseID], let todo = todos[key], todo.leaseID == leaseID, todo.epoch == epoch, todo.worker == worker
        else { return nil }
        return key
    }

    /// Whether the report `seq` under `leaseID` was processed already.
    func isProcessed(_ leaseID: String, seq: UInt64) -> Bool {
        processed.contains(Self.reportKey(leaseID, seq))
    }

    /// Marks a report processed; it is stored with the batch.
    mutating func markProcessed(_ leaseID: String, seq: UInt64) {
        processed.insert(Self.reportKey(leaseID, seq))
        newlyProcessed.append((leaseID, seq))
    }
}
