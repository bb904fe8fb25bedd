/// One thing wrong with a plan, with where it is.
public struct PlanProblem: Sendable, Equatable, CustomStringConvertible {
    /// Where in the plan, as a path: `todos[3].depends_on[0]`; empty for the plan as a whole.
    public var path: String
    public var message: String
    /// 1-based line and column in the file, when the plan came from one.
    public var line: Int?
    public var column: Int?

    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        let place = line.map { "line \($0)" + (column.map { ":\($0)" } ?? "") + ": " } ?? ""
        return place + (path.isEmpty ? "" : "\(path): ") + message
    }
}

/// A plan that could not be loaded, with every problem found.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    /// The file, when the plan came from one.
    public var file: String?
    public var problems: [PlanProblem]

    public init(file: String?, problems: [PlanProblem]) {
        self.file = file
        self.problems = problems
    }

    /// One line per problem, compiler style: `plan.yaml:12:7: todos[2].depends_on[0]: unknown dependency "x"`.
    public var description: String {
        problems.map { problem in
            var place = file ?? ""
            if let line = problem.line { place += (place.isEmpty ? "line " : ":") + "\(line)" + (problem.column.map { ":\($0)" } ?? "") }
            let path = problem.path.isEmpty ? "" : "\(problem.path): "
            return (place.isEmpty ? "" : place + ": ") + path + problem.message
        }.joined(separator: "\n")
    }
}
