import DroverProtocol

/// Each plan's integration: the plan of its merges (`<plan>-merge`, one TODO per TODO of the plan, which follows
/// it and goes one at a time), the integration branch's head after the last merge, and what is merged. Persisted in
/// `integrations`.
///
/// The queue itself is the merge plan in ``TodoTable``: a merge is ready when its TODO is done and the merges of its
/// dependencies are, so merges happen one at a time in dependency order, and are leased, supervised and recovered
/// as any TODO is.
struct MergeQueue {
    struct Integration: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case plan, mergePlan = "merge_plan", head, merged, repairs
        }

        var plan: String
        var mergePlan: String
        /// The integration branch's commit after the last merge; nil before the first.
        var head: String?
        /// The TODOs merged, in order.
        var merged: [String] = []
        /// Merges that conflicted or broke the checks, and what went wrong: the next try is a repair by codex.
        var repairs: [String: MergeResult] = [:]

        init(plan: String, mergePlan: String, head: String? = nil, merged: [String] = []) {
            self.plan = plan
            self.mergePlan = mergePlan
            self.head = head
            self.merged = merged
        }

        /// Older records have no repairs.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            plan = try container.decode(String.self, forKey: .plan)
            mergePlan = try container.decode(String.self, forKey: .mergePlan)
            head = try container.decodeIfPresent(String.self, forKey: .head)
            merged = try container.decodeIfPresent([String].self, forKey: .merged) ?? []
            repairs = try container.decodeIfPresent([String: MergeResult].self, forKey: .repairs) ?? [:]
        }
    }

    private(set) var byPlan: [String: Integration] = [:]
    private var planOfMerges: [String: String] = [:]
    private var changed: Set<String> = []

    var hasChanges: Bool { !changed.isEmpty }

    /// The id of the plan that merges `plan`'s TODOs.
    static func mergePlanID(of plan: String) -> String { "\(plan)-merge" }

    /// The plan of merges for `plan`: one merge per TODO, with the TODO's dependencies.
    static func mergePlan(for plan: Plan) -> Plan {
        Plan(
            id: mergePlanID(of: plan.id),
            title: "Merge \(plan.title)",
            repository: plan.repository,
            base: plan.base,
            // Two tries: the merge, then, if it conflicts or breaks the checks, the same merge repaired by codex.
            todos: plan.todos.map { Todo(id: $0.id, title: "Merge \($0.title)", dependsOn: $0.dependsOn, maxAttempts: 2) }
        )
    }

    subscript(plan: String) -> Integration? { byPlan[plan] }

    /// The integration whose merges run as `mergePlan`.
    func integration(mergedBy mergePlan: String) -> Integration? { planOfMerges[mergePlan].flatMap { byPlan[$0] } }

    mutating func add(_ integration: Integration) {
        restore(integration)
        changed.insert(integration.plan)
    }

    mutating func restore(_ integration: Integration) {
        byPlan[integration.plan] = integration
        planOfMerges[integration.mergePlan] = integration.plan
    }

    /// A merge went in: the integration branch is at `head`.
    mutating func merged(_ todo: String, of plan: String, head: String?) {
        update(plan) { integration in
            if let head { integration.head = head }
            if !integration.merged.contains(todo) { integration.merged.append(todo) }
            integration.repairs[todo] = nil
        }
    }

    /// The integration branch was moved back to `head`: only `kept` are merged in it now.
    mutating func rolledBack(_ plan: String, keeping kept: [String], head: String) {
        update(plan) { integration in
            integration.merged = kept
            integration.head = head
        }
    }

    /// A merge conflicted or broke the checks: its next try is a repair, told what went wrong.
    mutating func needsRepair(_ todo: String, of plan: String, _ result: MergeResult) {
        update(plan) { $0.repairs[todo] = result }
    }

    private mutating func update(_ plan: String, _ body: (inout Integration) -> Void) {
        guard var integration = byPlan[plan] else { return }
        body(&integration)
        byPlan[plan] = integration
        changed.insert(plan)
    }

    mutating func takeChanges(into changes: inout Store.Changes) {
        changes.integrations = changed.compactMap { byPlan[$0] }
        changed.removeAll(keepingCapacity: true)
    }
}
