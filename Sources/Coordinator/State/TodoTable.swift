import DequeModule
import DroverProtocol

/// Every plan and TODO the coordinator knows, and the one place their states change.
///
/// Each transition checks the state it starts from and does nothing otherwise (returning `nil` or `false`), so a late
/// or repeated message cannot move a TODO backwards. Each transition marks what it changed, and ``takeChanges()``
/// hands the changed rows to the store at commit. Events and messages are the core's business: a transition only
/// says what happened.
struct TodoTable {
    private(set) var plans: [String: PlanRecord] = [:]
    private(set) var todos: [TodoKey: TodoRecord] = [:]
    /// For each TODO, the TODOs that depend on it.
    private var dependents: [TodoKey: [TodoKey]] = [:]
    /// TODOs waiting for a worker, in the order they should go out.
    private var ready = Deque<TodoKey>()
    /// TODOs parked (`waiting`) until their reset time.
    private var parked: Set<TodoKey> = []
    private var changedTodos: Set<TodoKey> = []
    /// Plans whose TODOs each wait, besides their own dependencies, for the TODO of the same id in another plan to
    /// be done (a merge plan's TODOs for the TODOs they merge): plan → the plan it follows.
    private var follows: [String: String] = [:]
    /// Plans whose TODOs go out one at a time (merges).
    private var serial: Set<String> = []
    private var changedPlans: Set<String> = []
    private var addedPlans: [(record: PlanRecord, submitJSON: String)] = []

    subscript(key: TodoKey) -> TodoRecord? { todos[key] }

    /// Whether anything changed since the last ``takeChanges()``.
    var hasChanges: Bool { !changedTodos.isEmpty || !changedPlans.isEmpty || !addedPlans.isEmpty }

    /// Whether a TODO waits for a worker.
    var hasReady: Bool { !ready.isEmpty }

    /// The rows and plans changed since the last call, for the store.
    mutating func takeChanges(into changes: inout Store.Changes) {
        changes.newPlans = addedPlans
        changes.planStates = changedPlans.compactMap { plans[$0] }
        changes.todos = changedTodos.compactMap { key in todos[key].map { (key, $0.row) } }
        addedPlans.removeAll(keepingCapacity: true)
        changedPlans.removeAll(keepingCapacity: true)
        changedTodos.removeAll(keepingCapacity: true)
    }

    // MARK: - Plans

    /// Adds a plan with its TODOs pending, then makes ready those with nothing to wait for; returns them.
    /// - Parameters:
    ///   - following: each TODO also waits for the TODO of the same id in that plan to be done, and is skipped if it
    ///     is not (a merge plan follows the plan it merges).
    ///   - serial: its TODOs go out one at a time.
    mutating func add(_ plan: Plan, submitJSON: String, submittedAt: Int64, following: String? = nil, serial: Bool = false) -> [TodoKey] {
        let record = PlanRecord(plan: plan, state: .running, order: plans.count, submittedAt: submittedAt, open: plan.todos.count)
        plans[plan.id] = record
        if let following { follows[plan.id] = following }
        if serial { self.serial.insert(plan.id) }
        addedPlans.append((record, submitJSON))
        for todo in plan.todos {
            let key = TodoKey(plan: plan.id, todo: todo.id)
            todos[key] = TodoRecord(key: key, spec: todo)
            changedTodos.insert(key)
        }
        link(plan)
        return plan.todos.map { TodoKey(plan: plan.id, todo: $0.id) }.filter { todos[$0]?.waitingOn == 0 && makeReady($0, front: false) }
    }

    /// Puts back a plan as the state file had it. Returns the TODOs that held a lease when the coordinator stopped
    /// (their workers may claim them again); those ready to go out are queued.
    mutating func restore(_ record: PlanRecord, rows: [TodoKey: TodoRow], following: String? = nil, serial: Bool = false) -> [TodoRecord] {
        if let following { follows[record.plan.id] = following }
        if serial { self.serial.insert(record.plan.id) }
        var record = record
        record.open = record.plan.todos.count { !(rows[TodoKey(plan: record.plan.id, todo: $0.id)]?.state.isTerminal ?? false) }
        plans[record.plan.id] = record
        for todo in record.plan.todos {
            let key = TodoKey(plan: record.plan.id, todo: todo.id)
            todos[key] = TodoRecord(key: key, spec: todo, row: rows[key] ?? TodoRow())
        }
        link(record.plan)
        var leased: [TodoRecord] = []
        for todo in record.plan.todos {
            let key = TodoKey(plan: record.plan.id, todo: todo.id)
            guard let restored = todos[key] else { continue }
            if restored.state == .ready || (restored.state == .pending && restored.waitingOn == 0) {
                _ = makeReady(key, front: false)
            } else if restored.state == .waiting {
                parked.insert(key)
            } else if restored.state.holdsLease, restored.leaseID != nil {
                leased.append(restored)
            }
        }
        return leased
    }

    /// Fills in `dependents` and `waitingOn` for a plan's TODOs from their states.
    private mutating func link(_ plan: Plan) {
        for todo in plan.todos {
            let key = TodoKey(plan: plan.id, todo: todo.id)
            for dependency in prerequisites(of: key, spec: todo) { dependents[dependency, default: []].append(key) }
            let count = waiting(key, spec: todo)
            todos[key]?.waitingOn = count
        }
    }

    /// What a TODO waits for: its dependencies, and the TODO it follows in another plan (when that plan has one of
    /// its id: a step added to a plan of merges, such as a rebase, follows nothing).
    private func prerequisites(of key: TodoKey, spec: Todo) -> [TodoKey] {
        let followed = follows[key.plan].map { TodoKey(plan: $0, todo: key.todo) }.flatMap { todos[$0] == nil ? nil : $0 }
        return spec.dependsOn.map { TodoKey(plan: key.plan, todo: $0) } + (followed.map { [$0] } ?? [])
    }

    /// Adds a TODO to a plan that is here; a plan that had finished runs again. `submitJSON` is the plan's record
    /// with the TODO, for the store. Returns whether the TODO is ready at once.
    mutating func append(_ todo: Todo, to id: String, submitJSON: (Plan) -> String) -> Bool {
        guard var record = plans[id], todos[TodoKey(plan: id, todo: todo.id)] == nil else { return false }
        record.plan.todos.append(todo)
        record.open += 1
        if record.state != .running {
            record.state = .running
            record.finishedAt = nil
        }
        plans[id] = record
        addedPlans.append((record, submitJSON(record.plan)))
        let key = TodoKey(plan: id, todo: todo.id)
        todos[key] = TodoRecord(key: key, spec: todo)
        changedTodos.insert(key)
        for dependency in prerequisites(of: key, spec: todo) { dependents[dependency, default: []].append(key) }
        let count = waiting(key, spec: todo)
        todos[key]?.waitingOn = count
        return count == 0 && makeReady(key, front: false)
    }

    /// How many of its prerequisites are not done.
    private func waiting(_ key: TodoKey, spec: Todo) -> Int {
        prerequisites(of: key, spec: spec).count { todos[$0]?.state != .done }
    }

    /// Whether a TODO of `plan` holds a lease now (for serial plans: the next waits).
    private func hasTodoOut(_ plan: String) -> Bool {
        plans[plan]?.plan.todos.contains { todos[TodoKey(plan: plan, todo: $0.id)]?.state.holdsLease ?? false } ?? false
    }

    /// Holds a running plan's TODOs back from workers, or lets them go again. Returns the plan when it changed.
    /// An operator raised the plan's cost cap.
    mutating func raiseCostCap(ofPlan id: String, to cap: Double) {
        guard plans[id] != nil else { return }
        plans[id]?.costCap = cap
        changedPlans.insert(id)
    }

    mutating func setPaused(_ id: String, _ paused: Bool) -> PlanRecord? {
        guard var record = plans[id], record.state == .running, record.paused != paused else { return nil }
        record.paused = paused
        plans[id] = record
        changedPlans.insert(id)
        return record
    }

    /// Ends a running plan whose TODOs have all ended: `done` if every one is done, else `failed`.
    mutating func finishPlanIfDone(_ id: String, at now: Int64) -> PlanRecord? {
        guard var record = plans[id], record.state == .running, record.open == 0 else { return nil }
        record.state = (counts(of: record.plan)[TodoState.done.rawValue] ?? 0) == record.plan.todos.count ? .done : .failed
        record.finishedAt = now
        plans[id] = record
        changedPlans.insert(id)
        return record
    }

    /// TODO count by state.
    func counts(of plan: Plan) -> [String: Int] {
        var counts: [String: Int] = [:]
        for todo in plan.todos {
            counts[(todos[TodoKey(plan: plan.id, todo: todo.id)]?.state ?? .pending).rawValue, default: 0] += 1
        }
        return counts
    }

    /// The one way a TODO changes: in place, only when `allowed` holds for it as it is now, and marked for the
    /// store. Returns what `body` returns, or nil when the TODO is unknown or the change is not allowed.
    private mutating func change<Result>(
        _ key: TodoKey,
        if allowed: (TodoRecord) -> Bool = { _ in true },
        _ body: (inout TodoRecord) -> Result
    ) -> Result? {
        guard let index = todos.index(forKey: key), allowed(todos.values[index]) else { return nil }
        changedTodos.insert(key)
        return body(&todos.values[index])
    }

    // MARK: - The ready queue

    /// Makes a TODO that has not ended ready for a worker, at the front of the queue (it was out already) or the
    /// back. Returns whether it was not ready before.
    @discardableResult
    mutating func makeReady(_ key: TodoKey, front: Bool, detail: String? = nil, at now: Int64 = wallClockMilliseconds()) -> Bool {
        let was = change(key, if: { !$0.state.isTerminal }) { todo in
            let was = todo.state
            todo.row.state = .ready
            todo.readyAt = now
            if let detail { todo.row.detail = detail }
            return was
        }
        guard let was else { return false }
        if front { ready.prepend(key) } else { ready.append(key) }
        return was != .ready
    }

    /// The next TODO in the ready queue that may go out now. TODOs of paused plans are set aside in `heldBack`
    /// (with those the caller could not place); ``putBack(_:)`` returns them to the front of the queue.
    mutating func popReady(heldBack: inout [TodoKey]) -> TodoRecord? {
        while let key = ready.popFirst() {
            guard let todo = todos[key], todo.state == .ready else { continue }
            if plans[key.plan]?.paused == true || (serial.contains(key.plan) && hasTodoOut(key.plan)) {
                heldBack.append(key)
                continue
            }
            return todo
        }
        return nil
    }

    /// Says why a ready TODO waits (shown in `drover status`), without moving it.
    mutating func explain(_ key: TodoKey, _ detail: String) {
        change(key, if: { $0.state == .ready && $0.detail != detail }) { $0.row.detail = detail }
    }

    /// Says why a paused TODO waits (shown in `drover status`), without moving it.
    mutating func explainPause(_ key: TodoKey, _ detail: String) {
        change(key, if: { $0.state == .paused && $0.detail != detail }) { $0.row.detail = detail }
    }

    /// Returns TODOs that could not go out to the front of the queue, in their order.
    mutating func putBack(_ keys: [TodoKey]) {
        ready.prepend(contentsOf: keys)
    }

    // MARK: - Leases

    /// Ready → assigned, under the next epoch. Returns the record, with how long it waited in the queue.
    mutating func assign(_ key: TodoKey, to worker: String, at now: Int64) -> (todo: TodoRecord, waitedMs: Int64?)? {
        change(key, if: { $0.state == .ready }) { todo in
            todo.row.epoch += 1
            todo.row.leaseID = LeaseTable.id(for: key, epoch: todo.row.epoch)
            todo.row.worker = worker
            todo.row.state = .assigned
            todo.assignedAt = now
            let waited = todo.readyAt.map { max(0, wallClockMilliseconds() - $0) }
            todo.readyAt = nil
            return (todo, waited)
        }
    }

    /// Assigned → running: the worker has it in hand.
    mutating func start(_ key: TodoKey, at wallClock: Int64) -> TodoRecord? {
        change(key, if: { $0.state == .assigned }) { todo in
            todo.row.state = .running
            todo.row.facts.startedAt = wallClock
            return todo
        }
    }

    /// Takes the lease off a TODO that holds one; its next state is set by the transition that follows.
    /// Returns the lease and the worker that had it.
    mutating func release(_ key: TodoKey) -> (leaseID: String, worker: String?)? {
        change(key, if: { $0.leaseID != nil }) { todo in
            let held = (leaseID: todo.leaseID ?? "", worker: todo.worker)
            todo.row.leaseID = nil
            todo.row.worker = nil
            return held
        }
    }

    // MARK: - Work reported

    /// Adds a report's tokens and changed files to the TODO's facts.
    mutating func addWork(
        _ key: TodoKey,
        tokens: Int64,
        files: [String]?,
        diffStat: DiffStat? = nil,
        checks: [CheckResult] = [],
        usage: TokenUsage? = nil,
        costUSD: Double? = nil
    ) {
        change(key) { todo in
            todo.row.facts.tokens += tokens
            if let usage { todo.row.facts.usage = (todo.row.facts.usage ?? .zero) + usage }
            if let costUSD { todo.row.facts.costUSD = (todo.row.facts.costUSD ?? 0) + costUSD }
            if let files { todo.row.facts.files = files }
            if let diffStat { todo.row.facts.diffStat = diffStat }
            if !checks.isEmpty {
                todo.row.facts.checks = checks.map {
                    CheckResult(check: $0.check, passed: $0.passed, detail: String($0.detail.suffix(500)))
                }
            }
        }
    }

    /// Keeps the codex thread its session stored (nil: none, and the one before is not resumed either): the TODO's
    /// next session goes on on it.
    mutating func keepThread(_ key: TodoKey, _ thread: String?) {
        change(key) { $0.row.facts.thread = thread }
    }

    /// A running session's tokens so far (a running total under `lease`, from a `usage` event): what it grew by
    /// since the last count is added to the TODO's tokens, usage and cost now, so they are live. Returns what was
    /// added (nil: no such TODO).
    mutating func countLive(_ key: TodoKey, lease: String, usage: TokenUsage, cost: (TokenUsage) -> Double?) -> TokenUsage? {
        change(key) { todo in
            let counted = todo.row.facts.runLease == lease ? todo.row.facts.runUsage ?? .zero : .zero
            let added = usage.subtracting(counted)
            todo.row.facts.runLease = lease
            todo.row.facts.runUsage = TokenUsage(
                input: max(usage.input, counted.input),
                cachedInput: max(usage.cachedInput, counted.cachedInput),
                output: max(usage.output, counted.output)
            )
            guard added.total > 0 || added.cachedInput > 0 else { return added }
            todo.row.facts.tokens += added.total
            todo.row.facts.usage = (todo.row.facts.usage ?? .zero) + added
            if let dollars = cost(added) { todo.row.facts.costUSD = (todo.row.facts.costUSD ?? 0) + dollars }
            return added
        }
    }

    /// The report of `lease` came: what its session's `usage` events counted already (zero when none), no longer
    /// kept apart.
    mutating func takeLive(_ key: TodoKey, lease: String) -> TokenUsage {
        change(key) { todo in
            defer {
                todo.row.facts.runLease = nil
                todo.row.facts.runUsage = nil
            }
            return todo.row.facts.runLease == lease ? todo.row.facts.runUsage ?? .zero : .zero
        } ?? .zero
    }

    /// An operator raised the TODO's cost cap.
    mutating func raiseCostCap(_ key: TodoKey, to cap: Double) {
        change(key) { $0.row.facts.costCap = cap }
    }

    /// Counts a failed run; returns whether the TODO has attempts left.
    mutating func countFailedAttempt(_ key: TodoKey, detail: String) -> (attempts: Int, retry: Bool)? {
        change(key, if: { !$0.state.isTerminal }) { todo in
            todo.row.attempts += 1
            todo.row.detail = detail
            return (todo.attempts, todo.attempts < todo.spec.maxAttempts)
        }
    }

    // MARK: - Parking

    /// A TODO whose lease has ended waits until `resumeAt` (wall-clock ms), its reset time: `waiting`, not a failed
    /// attempt. Returns whether it was parked (a TODO that has ended is not).
    mutating func park(_ key: TodoKey, until resumeAt: Int64, detail: String) -> Bool {
        let parked: Void? = change(key, if: { !$0.state.isTerminal && $0.leaseID == nil }) { todo in
            todo.row.state = .waiting
            todo.row.detail = detail
            todo.row.facts.resumeAt = resumeAt
        }
        guard parked != nil else { return false }
        self.parked.insert(key)
        return true
    }

    /// The parked TODOs whose time has come at `now` (wall-clock ms), made ready at the front of the queue, in the
    /// order of their reset times.
    mutating func resumeDue(at now: Int64) -> [TodoKey] {
        guard !parked.isEmpty else { return [] }
        let due = parked.filter { (todos[$0]?.facts.resumeAt ?? 0) <= now }
            .sorted { (todos[$0]?.facts.resumeAt ?? 0, $0.plan, $0.todo) < (todos[$1]?.facts.resumeAt ?? 0, $1.plan, $1.todo) }
        var resumed: [TodoKey] = []
        // The earliest reset goes out first: put them at the front in reverse.
        for key in due.reversed() {
            parked.remove(key)
            guard todos[key]?.state == .waiting else { continue }
            change(key) { $0.row.facts.resumeAt = nil }
            if makeReady(key, front: true, detail: "resumed after its usage limit reset", at: now) { resumed.append(key) }
        }
        return resumed.reversed()
    }

    /// Counts a recovery the policy granted.
    mutating func grantRecovery(_ key: TodoKey, _ detection: Detection, count: Int) {
        change(key) { $0.row.recoveries[detection.rawValue] = count }
    }

    // MARK: - Ending

    /// What ending a TODO did to the TODOs that depend on it.
    struct Ended {
        /// Dependents that had nothing else to wait for and are ready now.
        var readied: [TodoKey] = []
        /// Dependents that will not run, because this TODO did not succeed.
        var skipped: [TodoKey] = []
    }

    /// A TODO that has not ended reaches the terminal `state`: its dependents are released (if it is done) or
    /// skipped (otherwise), and its plan's open count goes down.
    mutating func end(_ key: TodoKey, as state: TodoState, detail: String, durationMs: Int64? = nil, at now: Int64) -> Ended? {
        guard state.isTerminal else { return nil }
        let ended: Void? = change(key, if: { !$0.state.isTerminal }) { todo in
            todo.row.state = state
            todo.row.detail = detail
            if let durationMs { todo.row.facts.durationMs = durationMs }
            todo.row.facts.finishedAt = now
        }
        guard ended != nil else { return nil }
        plans[key.plan]?.open -= 1
        var result = Ended()
        var stack = dependents[key] ?? []
        while let dependent = stack.popLast() {
            guard let index = todos.index(forKey: dependent), !todos.values[index].state.isTerminal else { continue }
            if state == .done {
                todos.values[index].waitingOn -= 1
                if todos.values[index].waitingOn == 0, makeReady(dependent, front: false, at: now) { result.readied.append(dependent) }
            } else {
                _ = change(dependent) { next in
                    next.row.state = .skipped
                    next.row.detail = "not run: \(key.todo) did not succeed"
                }
                plans[dependent.plan]?.open -= 1
                result.skipped.append(dependent)
                stack.append(contentsOf: dependents[dependent] ?? [])
            }
        }
        return result
    }

    /// An operator leaves a TODO out: one that waits (pending or ready), failed or escalated is skipped, with what
    /// depends on it. Returns whether it was. A TODO out with a worker, or done, cannot be left out.
    mutating func leaveOut(_ key: TodoKey, detail: String, at now: Int64) -> Bool {
        guard let todo = todos[key] else { return false }
        switch todo.state {
        case .pending, .ready, .waiting:
            return end(key, as: .skipped, detail: detail, at: now) != nil
        case .failed, .escalated:
            // Ended already (what depends on it is skipped): only its state and why change.
            let changed: Void? = change(key) { record in
                record.row.state = .skipped
                record.row.detail = detail
            }
            return changed != nil
        default:
            return false
        }
    }

    /// An operator pauses a TODO: one waiting for a worker (`ready`), or one whose session stopped after its turn
    /// on the operator's request (its lease released already), waits `paused`. Returns whether it was paused.
    mutating func pause(_ key: TodoKey, detail: String) -> Bool {
        let paused: Void? = change(key, if: { $0.state == .ready || ($0.state.holdsLease && $0.leaseID == nil) }) { todo in
            todo.row.state = .paused
            todo.row.detail = detail
            todo.readyAt = nil
        }
        return paused != nil
    }

    /// An operator resumes a paused TODO: it is ready again, at the front of the queue. Returns whether it was.
    mutating func resume(_ key: TodoKey, detail: String, at now: Int64) -> Bool {
        guard todos[key]?.state == .paused else { return false }
        return makeReady(key, front: true, detail: detail, at: now)
    }

    /// A done merge was rolled back: its work is no longer integrated. It is skipped (an operator can retry it).
    mutating func unmerge(_ key: TodoKey, detail: String) {
        change(key, if: { $0.state == .done }) { record in
            record.row.state = .skipped
            record.row.detail = detail
        }
    }

    /// An operator takes an ended TODO up again, with what was skipped because of it: they are pending again with
    /// fresh attempts and recovery counts, and those with nothing to wait for are ready. Returns the revived TODOs
    /// and whether the plan, finished before, runs again.
    mutating func revive(_ key: TodoKey, detail: String) -> (revived: [TodoKey], planResumed: Bool)? {
        guard let todo = todos[key], todo.state.isRetryable else { return nil }
        var revived = [key]
        var seen: Set<TodoKey> = [key]
        var stack = dependents[key] ?? []
        while let dependent = stack.popLast() {
            // A TODO skipped along two paths (a diamond, or a merge after its TODO and a dependency) comes back once.
            guard todos[dependent]?.state == .skipped, seen.insert(dependent).inserted else { continue }
            revived.append(dependent)
            stack.append(contentsOf: dependents[dependent] ?? [])
        }
        for id in revived {
            let count = todos[id].map { waiting(id, spec: $0.spec) } ?? 0
            change(id) { record in
                record.row.state = .pending
                record.row.attempts = 0
                record.row.recoveries = [:]
                record.row.detail = detail
                record.waitingOn = count
            }
        }
        var planResumed = false
        // What was skipped may be in another plan too (the merges that follow it).
        for (id, count) in Dictionary(grouping: revived, by: \.plan).mapValues(\.count) {
            guard var plan = plans[id] else { continue }
            plan.open += count
            if plan.state != .running {
                plan.state = .running
                plan.finishedAt = nil
                if id == key.plan { planResumed = true }
                changedPlans.insert(id)
            }
            plans[id] = plan
        }
        for id in revived where todos[id]?.waitingOn == 0 { makeReady(id, front: true) }
        return (revived, planResumed)
    }
}

/// The coordinator's view of one TODO: its row, its spec, and what is derived in memory.
///
/// Only ``TodoTable`` changes a record (its setters are private to that file), so every state change goes through
/// one of the table's transitions.
struct TodoRecord: Sendable {
    let key: TodoKey
    /// What the plan says; never changes, and is shared rather than copied with the record (the hot path copies
    /// records all the time, and a `Todo` is a dozen strings and arrays to retain).
    var spec: Todo { specBox.todo }
    private let specBox: SpecBox
    /// The persisted part.
    fileprivate(set) var row: TodoRow
    /// Monotonic milliseconds of the assignment, for the accept timeout; not persisted.
    fileprivate(set) var assignedAt: Int64 = 0
    /// Dependencies not yet done; derived, not persisted.
    fileprivate(set) var waitingOn = 0
    /// Wall-clock milliseconds since it was last made ready, for the queue latency metric; not persisted.
    fileprivate(set) var readyAt: Int64?

    init(key: TodoKey, spec: Todo, row: TodoRow = TodoRow()) {
        self.key = key
        self.specBox = SpecBox(spec)
        self.row = row
    }

    var state: TodoState { row.state }
    var epoch: Int64 { row.epoch }
    var leaseID: String? { row.leaseID }
    var worker: String? { row.worker }
    var attempts: Int { row.attempts }
    var detail: String? { row.detail }
    var recoveries: [String: Int] { row.recoveries }
    var facts: WorkFacts { row.facts }

    private final class SpecBox: Sendable {
        let todo: Todo
        init(_ todo: Todo) { self.todo = todo }
    }
}
