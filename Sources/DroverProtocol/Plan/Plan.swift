/// A plan: TODOs with dependencies, run by the coordinator until every TODO is done (`docs/plans.md`).
///
/// Plans are written as YAML or JSON (see ``PlanLoader``); on the wire they travel as JSON with snake_case keys.
public struct Plan: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id, title, repository, base, context, integrationChecks = "integration_checks", schedule, todos
    }

    public var id: String
    public var title: String
    /// The git repository the TODOs work in (a path or URL every worker can reach). Each TODO then runs in a
    /// worktree on branch `drover/<plan>/<todo>`, pushed back after its run, so a reassigned TODO goes on from there.
    public var repository: String?
    /// The branch new TODO branches start from; nil starts them from the repository's default branch.
    public var base: String?
    /// A document every TODO's session is given before its prompt: for a job's plan, what the investigation found.
    public var context: String?
    /// What must hold on the integration branch after each merge; nil: the command checks of the TODOs merged so far.
    public var integrationChecks: [Check]?
    /// How TODOs are scheduled; nil is the default (TODOs that may touch the same files wait for each other).
    public var schedule: Schedule?
    public var todos: [Todo]

    public init(
        id: String,
        title: String,
        repository: String? = nil,
        base: String? = nil,
        context: String? = nil,
        integrationChecks: [Check]? = nil,
        schedule: Schedule? = nil,
        todos: [Todo]
    ) {
        self.schedule = schedule
        self.id = id
        self.title = title
        self.repository = repository
        self.base = base
        self.context = context
        self.integrationChecks = integrationChecks
        self.todos = todos
    }

    /// The branch a TODO's work goes to.
    public func branch(of todo: String) -> String { "drover/\(id)/\(todo)" }

    /// The branch the TODOs' work is merged into, one TODO at a time.
    public var integrationBranch: String { "drover/\(id)/integration" }

    /// The checks run on the integration branch after `todo` is merged, when `merged` are in it already: the plan's
    /// `integration_checks`, else the command checks of every TODO merged so far, in plan order, each once.
    public func integrationChecks(merging todo: String, after merged: Set<String>) -> [Check] {
        if let integrationChecks { return integrationChecks }
        var seen: Set<String> = []
        return todos.filter { $0.id == todo || merged.contains($0.id) }.flatMap(\.checks).filter { check in
            guard let command = check.command else { return false }
            return seen.insert(command).inserted
        }
    }
}

/// One unit of work in a plan.
public struct Todo: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id, title, prompt, command, dependsOn = "depends_on", labels, checks, risk, budget, timeoutSeconds = "timeout_seconds",
            maxAttempts = "max_attempts", permissions, files, estimateMinutes = "estimate_minutes"
    }

    public var id: String
    public var title: String
    /// What an agent is asked to do (Codex sessions).
    public var prompt: String?
    /// A shell command, for the command agent. A TODO has a prompt, a command, or both.
    public var command: String?
    /// TODOs that must be done before this one starts.
    public var dependsOn: [String]
    /// Capabilities a worker must offer to take this TODO.
    public var labels: [String]
    /// What must hold for the TODO to count as done.
    public var checks: [Check]
    public var risk: Risk
    public var budget: Budget?
    /// Time limit of one run, in seconds.
    public var timeoutSeconds: Double?
    /// How many times a failed run is tried before the TODO is marked failed.
    public var maxAttempts: Int
    /// What the agent may do; nil leaves the worker's defaults.
    public var permissions: Permissions?
    /// The files (globs) the TODO expects to touch, as its planner saw them.
    public var files: [String]?
    /// How long the planner expects the TODO to take, in minutes.
    public var estimateMinutes: Double?

    public init(
        id: String,
        title: String? = nil,
        prompt: String? = nil,
        command: String? = nil,
        dependsOn: [String] = [],
        labels: [String] = [],
        checks: [Check] = [],
        risk: Risk = .low,
        budget: Budget? = nil,
        timeoutSeconds: Double? = nil,
        maxAttempts: Int = 1,
        permissions: Permissions? = nil,
        files: [String]? = nil,
        estimateMinutes: Double? = nil
    ) {
        self.permissions = permissions
        self.files = files
        self.estimateMinutes = estimateMinutes
        self.id = id
        self.title = title ?? id
        self.prompt = prompt
        self.command = command
        self.dependsOn = dependsOn
        self.labels = labels
        self.checks = checks
        self.risk = risk
        self.budget = budget
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
    }
}

/// How a plan's TODOs are scheduled.
public struct Schedule: Codable, Sendable, Equatable {
    /// What is done about TODOs that may touch the same files (their `files`, and what running TODOs changed).
    public struct Overlap: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// One waits while the other runs (the default).
        public static let serialize = Overlap(rawValue: "serialize")
        /// Both run; an event says they overlap.
        public static let warn = Overlap(rawValue: "warn")
        /// Both run; nothing is said.
        public static let ignore = Overlap(rawValue: "ignore")

        public static let all: [Overlap] = [.serialize, .warn, .ignore]
    }

    public var overlap: Overlap

    public init(overlap: Overlap = .serialize) { self.overlap = overlap }
}

/// How much damage a TODO could do; it decides how much a human is asked.
public enum Risk: String, Codable, Sendable, CaseIterable {
    case low, medium, high, critical
}

/// Limits on what a TODO may spend.
public struct Budget: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds", turns, tokens, cost
    }

    public var wallSeconds: Double?
    public var turns: Int?
    public var tokens: Int?
    /// US dollars the TODO may spend (by the coordinator's price table) before it is paused and the operators are
    /// asked to raise the cap or stop it.
    public var cost: Double?

    public init(wallSeconds: Double? = nil, turns: Int? = nil, tokens: Int? = nil, cost: Double? = nil) {
        self.wallSeconds = wallSeconds
        self.turns = turns
        self.tokens = tokens
        self.cost = cost
    }
}

/// An acceptance check, run in the TODO's working directory after its work:
/// a `command` that must exit 0, a `file` that must exist, or a `file` whose text must match `pattern`.
public struct Check: Codable, Sendable, Equatable, CustomStringConvertible {
    enum CodingKeys: String, CodingKey {
        case command, file, pattern, timeoutSeconds = "timeout_seconds"
    }

    public var command: String?
    public var file: String?
    /// A regular expression the file's text must match.
    public var pattern: String?
    public var timeoutSeconds: Double?

    public init(command: String? = nil, file: String? = nil, pattern: String? = nil, timeoutSeconds: Double? = nil) {
        self.command = command
        self.file = file
        self.pattern = pattern
        self.timeoutSeconds = timeoutSeconds
    }

    public var description: String {
        if let command { return "command `\(command)`" }
        if let file, let pattern { return "file \(file) matches /\(pattern)/" }
        return "file \(file ?? "?") exists"
    }
}

/// What an agent working on a TODO may do: its sandbox, network access, and writable paths beyond its
/// work directory.
public struct Permissions: Codable, Sendable, Equatable {
    public static let sandboxes = ["read-only", "workspace-write", "danger-full-access"]

    /// `read-only`, `workspace-write` or `danger-full-access`.
    public var sandbox: String?
    public var network: Bool?
    /// Extra writable paths; relative ones are relative to the work directory.
    public var writable: [String]

    public init(sandbox: String? = nil, network: Bool? = nil, writable: [String] = []) {
        self.sandbox = sandbox
        self.network = network
        self.writable = writable
    }
}
