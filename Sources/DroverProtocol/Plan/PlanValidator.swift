/// Checks the meaning of a plan: unique ids, known dependencies, no cycles, sane limits.
public enum PlanValidator {
    /// Every problem found; empty when the plan is valid.
    public static func problems(in plan: Plan) -> [PlanProblem] {
        var problems: [PlanProblem] = []
        if let problem = Identifier.problem(with: plan.id) { problems.append(.init(path: "id", message: "plan id \(problem)")) }
        if plan.repository != nil, plan.id.utf8.count > maxIDWithRepository {
            problems.append(
                .init(
                    path: "id",
                    message:
                        "a plan with a repository has an id of at most \(maxIDWithRepository) characters (its merges run as the plan <id>-merge)"
                )
            )
        }
        if plan.todos.isEmpty { problems.append(.init(path: "todos", message: "a plan needs at least one TODO")) }
        if let base = plan.base, !GitRef.isValidBranch(base) {
            problems.append(.init(path: "base", message: "\"\(base)\" is not a valid branch name"))
        }

        if let overlap = plan.schedule?.overlap, !Schedule.Overlap.all.contains(overlap) {
            problems.append(
                .init(path: "schedule.overlap", message: "must be serialize, warn or ignore (not \"\(overlap)\")")
            )
        }
        for (index, check) in (plan.integrationChecks ?? []).enumerated() {
            problems += checkProblems(check, path: "integration_checks[\(index)]")
        }

        var firstIndex: [String: Int] = [:]
        for (index, todo) in plan.todos.enumerated() {
            let path = "todos[\(index)]"
            if let problem = Identifier.problem(with: todo.id) {
                problems.append(.init(path: "\(path).id", message: "TODO id \(problem)"))
            }
            if let first = firstIndex[todo.id] {
                problems.append(
                    .init(path: "\(path).id", message: "duplicate id \"\(todo.id)\" (first used by todos[\(first)])")
                )
            } else {
                firstIndex[todo.id] = index
            }
            if todo.command == nil && todo.prompt == nil {
                problems.append(.init(path: path, message: "TODO \"\(todo.id)\" needs a 'command' or a 'prompt'"))
            }
            if let problem = timeoutProblem(todo.timeoutSeconds) {
                problems.append(.init(path: "\(path).timeout", message: problem))
            }
            if let cost = todo.budget?.cost, !(cost.isFinite && cost >= 0) {
                problems.append(
                    .init(
                        path: "\(path).budget.cost",
                        message: "TODO \"\(todo.id)\": the cost cap must be a number of US dollars, 0 or more (not \(cost))"
                    )
                )
            }
            if !(1...100).contains(todo.maxAttempts) {
                problems.append(.init(path: "\(path).max_attempts", message: "must be between 1 and 100"))
            }
            if let sandbox = todo.permissions?.sandbox, !Permissions.sandboxes.contains(sandbox) {
                problems.append(
                    .init(
                        path: "\(path).permissions.sandbox",
                        message: "must be one of \(Permissions.sandboxes.joined(separator: ", ")) (not \"\(sandbox)\")"
                    )
                )
            }
            for (labelIndex, label) in todo.labels.enumerated() {
                if let problem = Identifier.problem(with: label) {
                    problems.append(.init(path: "\(path).labels[\(labelIndex)]", message: "label \(problem)"))
                }
            }
            for (checkIndex, check) in todo.checks.enumerated() {
                problems += checkProblems(check, path: "\(path).checks[\(checkIndex)]")
            }
            for (fileIndex, file) in (todo.files ?? []).enumerated()
            where file.isEmpty || file.hasPrefix("/") || file.split(separator: "/").contains("..") {
                problems.append(
                    .init(path: "\(path).files[\(fileIndex)]", message: "must be a path or glob inside the repository (not \"\(file)\")")
                )
            }
        }

        for (index, todo) in plan.todos.enumerated() {
            for (depIndex, dependency) in todo.dependsOn.enumerated() {
                let path = "todos[\(index)].depends_on[\(depIndex)]"
                if dependency == todo.id {
                    problems.append(.init(path: path, message: "TODO \"\(todo.id)\" depends on itself"))
                } else if firstIndex[dependency] == nil {
                    problems.append(
                        .init(path: path, message: "unknown dependency \"\(dependency)\" (no TODO has that id)")
                    )
                }
            }
        }
        problems += cycles(in: plan, index: firstIndex)
        return problems
    }

    /// What is wrong with one check: a command or a file, a pattern only with a file, a sane time limit.
    private static func checkProblems(_ check: Check, path: String) -> [PlanProblem] {
        var problems: [PlanProblem] = []
        if (check.command == nil) == (check.file == nil) {
            problems.append(.init(path: path, message: "a check has either a 'command' or a 'file'"))
        }
        if check.pattern != nil && check.file == nil {
            problems.append(.init(path: "\(path).pattern", message: "a 'pattern' needs a 'file' to look in"))
        }
        if let problem = timeoutProblem(check.timeoutSeconds) {
            problems.append(.init(path: "\(path).timeout", message: problem))
        }
        if let pattern = check.pattern, (try? Regex(pattern)) == nil {
            problems.append(.init(path: "\(path).pattern", message: "is not a valid regular expression"))
        }
        return problems
    }

    /// The longest id of a plan with a repository: its merges run as the plan `<id>-merge`.
    public static let maxIDWithRepository = Identifier.maxLength - 6

    /// The longest time limit a plan may set: a week.
    public static let maxTimeoutSeconds: Double = 7 * 24 * 3600

    private static func timeoutProblem(_ seconds: Double?) -> String? {
        guard let seconds else { return nil }
        guard seconds > 0, seconds.isFinite else { return "must be a positive number of seconds" }
        guard seconds <= maxTimeoutSeconds else { return "must be at most \(Int(maxTimeoutSeconds)) seconds (a week)" }
        return nil
    }

    /// Each dependency cycle once, named by its members in order: `a -> b -> c -> a`.
    private static func cycles(in plan: Plan, index: [String: Int]) -> [PlanProblem] {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []
        var found: [PlanProblem] = []

        func visit(_ id: String) {
            marks[id] = .visiting
            stack.append(id)
            guard let todoIndex = index[id] else { return }
            for dependency in plan.todos[todoIndex].dependsOn where dependency != id && index[dependency] != nil {
                switch marks[dependency] {
                case nil:
                    visit(dependency)
                case .visiting:
                    let start = stack.lastIndex(of: dependency)!
                    let cycle = Array(stack[start...]) + [dependency]
                    found.append(
                        .init(
                            path: "todos[\(index[cycle[0]]!)].depends_on",
                            message: "dependency cycle: " + cycle.joined(separator: " -> ") + " (each depends on the next)"
                        )
                    )
                case .done:
                    break
                }
            }
            stack.removeLast()
            marks[id] = .done
        }

        for todo in plan.todos where marks[todo.id] == nil && index[todo.id] != nil {
            visit(todo.id)
        }
        return found
    }
}
