import DroverProtocol
import Foundation
import Yams

/// Reads plan files (YAML or JSON; JSON is read as YAML's flow style) into a ``Plan``, reporting every problem with
/// its line, column and path instead of stopping at the first.
///
/// The file format, with every field:
/// ```yaml
/// id: release-1          # defaults to the file name
/// title: Release 1
/// repository: ../app.git # optional: TODOs work in worktrees of it, on branches drover/<plan>/<todo>
/// base: main             # optional: the branch TODO branches start from (default: the repository's default branch)
/// context: |             # optional: a document every TODO's session reads before its prompt
///   The API lives in src/api; run `make test` before you finish.
/// todos:
///   - id: build
///     title: Build it
///     command: make      # or prompt: "...", or both
///     depends_on: [fetch]
///     labels: [linux]
///     checks:
///       - command: make test
///         timeout: 120
///       - file: out/app
///       - file: CHANGELOG.md
///         pattern: "## 1\\.0"
///     risk: low          # low | medium | high | critical
///     timeout: 600       # seconds
///     max_attempts: 2
///     budget: { wall_seconds: 3600, turns: 20, tokens: 2000000, cost: 5.00 }
///     permissions: { sandbox: workspace-write, network: false, writable: [../cache] }
///     files: [src/api/*.swift] # the files the TODO expects to touch (as its planner saw them)
///     estimate_minutes: 20
/// ```
///
/// ``PlanFileWriter`` writes a ``Plan`` back in this format.
public enum PlanLoader {
    /// Loads and validates the plan in `path`.
    /// - Throws: ``PlanError`` listing every problem.
    public static func load(path: String) throws -> Plan {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PlanError(file: path, problems: [.init(path: "", message: "cannot read the file (\(error.localizedDescription))")])
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        do {
            return try parse(text, defaultID: name)
        } catch var error as PlanError {
            error.file = path
            throw error
        }
    }

    /// Parses and validates plan text.
    /// - Parameter defaultID: the plan id when the text has none.
    public static func parse(_ text: String, defaultID: String = "plan") throws -> Plan {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PlanError(file: nil, problems: [Self.problem(from: error)])
        }
        var reader = Reader()
        guard let root else {
            throw PlanError(file: nil, problems: [.init(path: "", message: "the file is empty; a plan needs 'todos'")])
        }
        let plan = reader.plan(root, defaultID: defaultID)
        var problems = reader.problems
        if let plan {
            for var problem in PlanValidator.problems(in: plan) {
                let mark = reader.marks[problem.path] ?? reader.marks[parent(of: problem.path)]
                problem.line = mark?.line
                problem.column = mark?.column
                problems.append(problem)
            }
        }
        guard let plan, problems.isEmpty else {
            // In file order, as a reader goes through the file to fix them.
            let ordered = problems.enumerated().sorted { ($0.element.line ?? .max, $0.offset) < ($1.element.line ?? .max, $1.offset) }
            throw PlanError(file: nil, problems: ordered.map(\.element))
        }
        return plan
    }

    private static func parent(of path: String) -> String {
        guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return "" }
        return String(path[..<cut])
    }

    private static func problem(from error: YamlError) -> PlanProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return PlanProblem(path: "", message: "not valid YAML or JSON: \(problem)", line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            // The mark is the key's first use.
            let mark = context.mark
            return PlanProblem(path: "", message: "duplicate key \(keys) in a mapping", line: mark.line, column: mark.column)
        default:
            return PlanProblem(path: "", message: "not valid YAML or JSON: \(error)")
        }
    }

    /// Walks the document, building the plan and noting problems and where each field is.
    private struct Reader {
        var problems: [PlanProblem] = []
        var marks: [String: Mark] = [:]

        mutating func note(_ path: String, _ node: Node?, _ message: String) {
            problems.append(PlanProblem(path: path, message: message, line: node?.mark?.line, column: node?.mark?.column))
        }

        /// The fields of a mapping, after complaining about any not in `known`.
        mutating func fields(_ node: Node, _ path: String, known: Set<String>, what: String) -> [String: Node]? {
            guard let mapping = node.mapping else {
                note(path, node, "\(what) must be a mapping of fields")
                return nil
            }
            var result: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else {
                    note(path, key, "field names must be text")
                    continue
                }
                let fieldPath = path.isEmpty ? name : "\(path).\(name)"
                if !known.contains(name) {
                    let hint = known.sorted().first { $0.levenshtein(to: name) <= 2 }.map { " (did you mean '\($0)'?)" } ?? ""
                    note(fieldPath, key, "unknown field '\(name)'\(hint)")
                    continue
                }
                marks[fieldPath] = value.mark ?? key.mark
                result[name] = value
            }
            marks[path] = node.mark
            return result
        }

        mutating func string(_ node: Node?, _ path: String, required: Bool = false) -> String? {
            guard let node else {
                if required { note(path, nil, "is required") }
                return nil
            }
            guard case .scalar(let scalar) = node, node.tag != Tag(.null) else {
                note(path, node, "must be text")
                return nil
            }
            return scalar.string
        }

        mutating func number(_ node: Node?, _ path: String) -> Double? {
            guard let node else { return nil }
            guard let value = node.float ?? node.int.map(Double.init) else {
                note(path, node, "must be a number")
                return nil
            }
            return value
        }

        /// A TODO's cost cap: dollars, a number 0 or more (`$` not allowed: YAML would read it as text).
        mutating func costCap(_ node: Node?, _ path: String, todo: String) -> Double? {
            guard let node else { return nil }
            guard let value = node.float ?? node.int.map(Double.init) else {
                note(path, node, "TODO \"\(todo)\": the cost cap must be a number of US dollars, e.g. 5.00 (not \"\(node.string ?? "")\")")
                return nil
            }
            return value
        }

        mutating func integer(_ node: Node?, _ path: String) -> Int? {
            guard let node else { return nil }
            guard let value = node.int else {
                note(path, node, "must be a whole number")
                return nil
            }
            return value
        }

        mutating func strings(_ node: Node?, _ path: String) -> [String] {
            guard let node else { return [] }
            // A single string is accepted where a list is expected: `depends_on: build`.
            if case .scalar = node { return string(node, path).map { [$0] } ?? [] }
            guard let sequence = node.sequence else {
                note(path, node, "must be a list of text")
                return []
            }
            return sequence.enumerated().compactMap { index, item in
                marks["\(path)[\(index)]"] = item.mark
                return string(item, "\(path)[\(index)]")
            }
        }

        mutating func plan(_ node: Node, defaultID: String) -> Plan? {
            let known: Set<String> = ["id", "title", "repository", "base", "context", "integration_checks", "schedule", "todos"]
            guard let fields = fields(node, "", known: known, what: "a plan") else { return nil }
            var schedule: Schedule?
            if let scheduleNode = fields["schedule"],
                let scheduleFields = self.fields(scheduleNode, "schedule", known: ["overlap"], what: "a schedule")
            {
                schedule = Schedule(overlap: string(scheduleFields["overlap"], "schedule.overlap").map(Schedule.Overlap.init) ?? .serialize)
            }
            var integrationChecks: [Check]?
            if let checksNode = fields["integration_checks"] {
                if let sequence = checksNode.sequence {
                    integrationChecks = sequence.enumerated().compactMap { index, item in check(item, "integration_checks[\(index)]") }
                } else {
                    note("integration_checks", checksNode, "must be a list of checks")
                }
            }
            let id = string(fields["id"], "id") ?? defaultID
            let title = string(fields["title"], "title") ?? id
            guard let todosNode = fields["todos"] else {
                note("todos", node, "is required: the list of TODOs")
                return nil
            }
            guard let sequence = todosNode.sequence else {
                note("todos", todosNode, "must be a list of TODOs")
                return nil
            }
            var todos: [Todo] = []
            for (index, item) in sequence.enumerated() {
                if let todo = todo(item, "todos[\(index)]") { todos.append(todo) }
            }
            return Plan(
                id: id,
                title: title,
                repository: string(fields["repository"], "repository"),
                base: string(fields["base"], "base"),
                context: string(fields["context"], "context"),
                integrationChecks: integrationChecks,
                schedule: schedule,
                todos: todos
            )
        }

        mutating func todo(_ node: Node, _ path: String) -> Todo? {
            let known: Set<String> = [
                "id", "title", "prompt", "command", "depends_on", "labels", "checks", "risk", "budget", "timeout",
                "max_attempts", "permissions", "files", "estimate_minutes",
            ]
            guard let fields = fields(node, path, known: known, what: "a TODO") else { return nil }
            guard let id = string(fields["id"], "\(path).id", required: true) else { return nil }
            var risk = Risk.low
            if let riskNode = fields["risk"], let text = string(riskNode, "\(path).risk") {
                if let value = Risk(rawValue: text) {
                    risk = value
                } else {
                    note("\(path).risk", riskNode, "must be one of low, medium, high, critical (not \"\(text)\")")
                }
            }
            var checks: [Check] = []
            if let checksNode = fields["checks"] {
                if let sequence = checksNode.sequence {
                    for (index, item) in sequence.enumerated() {
                        if let check = check(item, "\(path).checks[\(index)]") { checks.append(check) }
                    }
                } else {
                    note("\(path).checks", checksNode, "must be a list of checks")
                }
            }
            var budget: Budget?
            if let budgetNode = fields["budget"],
                let budgetFields = self.fields(
                    budgetNode,
                    "\(path).budget",
                    known: ["wall_seconds", "turns", "tokens", "cost"],
                    what: "a budget"
                )
            {
                budget = Budget(
                    wallSeconds: number(budgetFields["wall_seconds"], "\(path).budget.wall_seconds"),
                    turns: integer(budgetFields["turns"], "\(path).budget.turns"),
                    tokens: integer(budgetFields["tokens"], "\(path).budget.tokens"),
                    cost: costCap(budgetFields["cost"], "\(path).budget.cost", todo: id)
                )
            }
            var permissions: Permissions?
            if let node = fields["permissions"],
                let permissionFields = self.fields(
                    node,
                    "\(path).permissions",
                    known: ["sandbox", "network", "writable"],
                    what: "permissions"
                )
            {
                var network: Bool?
                if let networkNode = permissionFields["network"] {
                    network = networkNode.bool
                    if network == nil { note("\(path).permissions.network", networkNode, "must be true or false") }
                }
                permissions = Permissions(
                    sandbox: string(permissionFields["sandbox"], "\(path).permissions.sandbox"),
                    network: network,
                    writable: strings(permissionFields["writable"], "\(path).permissions.writable")
                )
            }
            return Todo(
                id: id,
                title: string(fields["title"], "\(path).title"),
                prompt: string(fields["prompt"], "\(path).prompt"),
                command: string(fields["command"], "\(path).command"),
                dependsOn: strings(fields["depends_on"], "\(path).depends_on"),
                labels: strings(fields["labels"], "\(path).labels"),
                checks: checks,
                risk: risk,
                budget: budget,
                timeoutSeconds: number(fields["timeout"], "\(path).timeout"),
                maxAttempts: integer(fields["max_attempts"], "\(path).max_attempts") ?? 1,
                permissions: permissions,
                files: fields["files"].map { strings($0, "\(path).files") },
                estimateMinutes: number(fields["estimate_minutes"], "\(path).estimate_minutes")
            )
        }

        mutating func check(_ node: Node, _ path: String) -> Check? {
            guard let fields = fields(node, path, known: ["command", "file", "pattern", "timeout"], what: "a check")
            else { return nil }
            return Check(
                command: string(fields["command"], "\(path).command"),
                file: string(fields["file"], "\(path).file"),
                pattern: string(fields["pattern"], "\(path).pattern"),
                timeoutSeconds: number(fields["timeout"], "\(path).timeout")
            )
        }
    }
}

extension String {
    /// Edit distance, for "did you mean" hints on misspelt field names.
    func levenshtein(to other: String) -> Int {
        let a = Array(self)
        let b = Array(other)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
