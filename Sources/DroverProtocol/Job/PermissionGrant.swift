/// Something a plan's TODOs need beyond what every TODO may do (a `workspace-write` sandbox in its own worktree, no
/// network, low or medium risk), which an operator grants or refuses before the plan runs.
///
/// Grant ids are stable words: `sandbox:danger-full-access`, `network`, `write:<path>`, `risk:high`,
/// `risk:critical`. A remembered decision is kept per repository and grant id.
public struct PermissionGrant: Codable, Sendable, Hashable {
    public var id: String
    /// What it allows, for people.
    public var description: String
    /// The TODOs that need it.
    public var todos: [String]

    public init(id: String, description: String, todos: [String]) {
        self.id = id
        self.description = description
        self.todos = todos
    }

    /// The grant ids a TODO needs.
    public static func ids(neededBy todo: Todo) -> [String] {
        var ids: [String] = []
        if todo.permissions?.sandbox == "danger-full-access" { ids.append("sandbox:danger-full-access") }
        if todo.permissions?.network == true { ids.append("network") }
        for path in todo.permissions?.writable ?? [] { ids.append("write:\(path)") }
        if todo.risk == .high || todo.risk == .critical { ids.append("risk:\(todo.risk.rawValue)") }
        return ids
    }

    /// The smallest set of grants the plan needs, each with the TODOs that need it, in a stable order.
    public static func needed(by plan: Plan) -> [PermissionGrant] {
        var todosByGrant: [String: [String]] = [:]
        for todo in plan.todos {
            for id in ids(neededBy: todo) { todosByGrant[id, default: []].append(todo.id) }
        }
        return todosByGrant.keys.sorted().map { PermissionGrant(id: $0, description: describe($0), todos: todosByGrant[$0]!) }
    }

    /// What a grant id allows, in words.
    public static func describe(_ id: String) -> String {
        switch id {
        case "sandbox:danger-full-access": return "run commands without a sandbox (danger-full-access)"
        case "network": return "reach the network from the sandbox"
        case "risk:high": return "run TODOs of high risk"
        case "risk:critical": return "run TODOs of critical risk"
        default:
            if id.hasPrefix("write:") { return "write to \(id.dropFirst(6)), outside the TODO's worktree" }
            return id
        }
    }
}

/// What was decided about a job's grants, by an operator or by remembered policy.
public struct PermissionDecision: Codable, Sendable, Equatable {
    public var granted: [String]
    public var refused: [String]
    /// The operator asked for a new plan without the refused grants, rather than skipping the TODOs that need them.
    public var replan: Bool
    /// The decision is kept as policy for the repository.
    public var remember: Bool
    /// `operator`, `policy` (every grant was remembered), or `none needed`.
    public var decidedBy: String

    enum CodingKeys: String, CodingKey {
        case granted, refused, replan, remember, decidedBy = "decided_by"
    }

    public init(granted: [String], refused: [String], replan: Bool = false, remember: Bool = false, decidedBy: String) {
        self.granted = granted
        self.refused = refused
        self.replan = replan
        self.remember = remember
        self.decidedBy = decidedBy
    }

    /// The TODOs of `plan` that need a refused grant.
    public func refusedTodos(in plan: Plan) -> [String] {
        let refused = Set(self.refused)
        return plan.todos.filter { !Set(PermissionGrant.ids(neededBy: $0)).isDisjoint(with: refused) }.map(\.id)
    }
}
