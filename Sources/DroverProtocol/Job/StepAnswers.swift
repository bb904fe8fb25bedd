import Foundation

/// What the CLASSIFY step answers: what kind of request the goal is, and what the job does next.
public struct Classification: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case kind, complexity, needsInvestigation = "needs_investigation", summary, answer
    }

    /// The kinds of request a goal can be.
    public struct Kind: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A question about the repository: answered, and the job ends with the answer.
        public static let question = Kind(rawValue: "question")
        /// A change to one file: it may skip the investigation.
        public static let oneFileChange = Kind(rawValue: "one_file_change")
        public static let multiFileChange = Kind(rawValue: "multi_file_change")
        /// Commands to run.
        public static let commands = Kind(rawValue: "commands")

        public static let all: [Kind] = [.question, .oneFileChange, .multiFileChange, .commands]
    }

    public var kind: Kind
    /// `low`, `medium` or `high`.
    public var complexity: String
    public var needsInvestigation: Bool
    /// The goal in one or two sentences, as the classifier understood it.
    public var summary: String
    /// For a question: the answer.
    public var answer: String?

    public static let complexities = ["low", "medium", "high"]

    public init(kind: Kind, complexity: String, needsInvestigation: Bool, summary: String, answer: String? = nil) {
        self.kind = kind
        self.complexity = complexity
        self.needsInvestigation = needsInvestigation
        self.summary = summary
        self.answer = answer
    }

    func problems() -> [PlanProblem] {
        var problems: [PlanProblem] = []
        if !Kind.all.contains(kind) {
            problems.append(
                .init(path: "kind", message: "must be one of \(Kind.all.map(\.rawValue).joined(separator: ", ")) (not \"\(kind)\")")
            )
        }
        if !Self.complexities.contains(complexity) {
            problems.append(.init(path: "complexity", message: "must be low, medium or high (not \"\(complexity)\")"))
        }
        if kind == .question, (answer ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append(.init(path: "answer", message: "a question needs its answer"))
        }
        return problems
    }
}

/// What the INVESTIGATE step answers: what a newcomer to the repository must know to work on the goal. Rendered as
/// the job's context document (``document``), given to the planner and to every TODO's session.
public struct Investigation: Codable, Sendable, Equatable {
    public var summary: String
    /// Where things are.
    public var layout: String
    public var conventions: String
    /// What must not be broken or changed.
    public var constraints: String
    /// How to build, as commands.
    public var build: String
    /// How to test, as commands.
    public var test: String
    /// The files that matter for the goal.
    public var files: [String]
    public var risks: [String]

    public init(
        summary: String,
        layout: String,
        conventions: String,
        constraints: String,
        build: String,
        test: String,
        files: [String],
        risks: [String]
    ) {
        self.summary = summary
        self.layout = layout
        self.conventions = conventions
        self.constraints = constraints
        self.build = build
        self.test = test
        self.files = files
        self.risks = risks
    }

    /// The context document: Markdown, one section per field.
    public var document: String {
        var sections = [
            ("Summary", summary), ("Layout", layout), ("Conventions", conventions), ("Constraints", constraints),
            ("How to build", build), ("How to test", test),
        ]
        .filter { !$0.1.isEmpty }
        .map { "## \($0.0)\n\($0.1)" }
        if !files.isEmpty { sections.append("## Files that matter\n" + files.map { "- \($0)" }.joined(separator: "\n")) }
        if !risks.isEmpty { sections.append("## Risks\n" + risks.map { "- \($0)" }.joined(separator: "\n")) }
        return "# Context from the investigation of the repository\n\n" + sections.joined(separator: "\n\n") + "\n"
    }

    func problems() -> [PlanProblem] {
        summary.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            ? [.init(path: "summary", message: "must say what the investigation found")] : []
    }
}

/// What the PLAN step answers: a plan in Drover's plan model, in the shape the model is asked for. Every TODO runs
/// codex on its prompt and is checked by commands.
public struct PlannedWork: Codable, Sendable, Equatable {
    public struct PlannedTodo: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case id, title, prompt, dependsOn = "depends_on", checks, risk, permissions, estimateMinutes = "estimate_minutes", files
        }

        public var id: String
        public var title: String
        public var prompt: String
        public var dependsOn: [String]
        /// Commands that must exit 0 for the TODO to be done.
        public var checks: [String]
        public var risk: Risk
        public var permissions: Permissions
        public var estimateMinutes: Double
        /// The files (globs) the TODO expects to touch.
        public var files: [String]

        public init(
            id: String,
            title: String,
            prompt: String,
            dependsOn: [String] = [],
            checks: [String],
            risk: Risk = .low,
            permissions: Permissions = Permissions(sandbox: "workspace-write", network: false),
            estimateMinutes: Double = 10,
            files: [String] = []
        ) {
            self.id = id
            self.title = title
            self.prompt = prompt
            self.dependsOn = dependsOn
            self.checks = checks
            self.risk = risk
            self.permissions = permissions
            self.estimateMinutes = estimateMinutes
            self.files = files
        }
    }

    public var title: String
    public var todos: [PlannedTodo]

    public init(title: String, todos: [PlannedTodo]) {
        self.title = title
        self.todos = todos
    }

    /// The plan Drover runs: each TODO's checks become command checks.
    public func plan(id: String, repository: String?, base: String?, context: String?) -> Plan {
        Plan(
            id: id,
            title: title,
            repository: repository,
            base: base,
            context: context,
            todos: todos.map { todo in
                Todo(
                    id: todo.id,
                    title: todo.title,
                    prompt: todo.prompt,
                    dependsOn: todo.dependsOn,
                    checks: todo.checks.map { Check(command: $0) },
                    risk: todo.risk,
                    permissions: todo.permissions,
                    files: todo.files,
                    estimateMinutes: todo.estimateMinutes
                )
            }
        )
    }

    func problems() -> [PlanProblem] {
        let plan = plan(id: "job", repository: nil, base: nil, context: nil)
        var problems = PlanValidator.problems(in: plan)
        for (index, todo) in todos.enumerated() {
            if todo.checks.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                problems.append(
                    .init(path: "todos[\(index)].checks", message: "TODO \"\(todo.id)\" needs at least one acceptance check command")
                )
            }
            if todo.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                problems.append(.init(path: "todos[\(index)].prompt", message: "TODO \"\(todo.id)\" needs a prompt"))
            }
            if !(todo.estimateMinutes >= 0 && todo.estimateMinutes.isFinite) {
                problems.append(.init(path: "todos[\(index)].estimate_minutes", message: "must be a positive number of minutes"))
            }
        }
        return problems
    }
}

/// A step's answer, read and validated.
public enum StepAnswer: Sendable, Equatable {
    case classification(Classification)
    case investigation(Investigation)
    case plan(PlannedWork)
    /// A plan's AI review.
    case recommendations(Recommendations)
    /// The advisor's answer about a stuck TODO.
    case advice(Advice)
}

extension JobStep {
    /// Reads the step's final message (``AnswerStep/read(_:)``).
    public func read(_ text: String) -> Result<StepAnswer, StepAnswerError> { answer.read(text) }
}

extension AnswerStep {
    /// Reads a step's final message: JSON in the step's shape whose values make sense (for a plan: a plan the plan
    /// validator accepts, every TODO with a check). The problems say exactly what is wrong, to be sent back to the
    /// session that wrote it.
    public func read(_ text: String) -> Result<StepAnswer, StepAnswerError> {
        let data = Data(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            return .failure(StepAnswerError(step: self, problems: [.init(path: "", message: "the answer is not a JSON object")]))
        }
        do {
            let decoder = JSONDecoder()
            let answer: StepAnswer
            let problems: [PlanProblem]
            switch self {
            case .classify:
                let value = try decoder.decode(Classification.self, from: data)
                (answer, problems) = (.classification(value), value.problems())
            case .investigate:
                let value = try decoder.decode(Investigation.self, from: data)
                (answer, problems) = (.investigation(value), value.problems())
            case .plan:
                let value = try decoder.decode(PlannedWork.self, from: data)
                (answer, problems) = (.plan(value), value.problems())
            case .recommend:
                let value = try decoder.decode(Recommendations.self, from: data)
                (answer, problems) = (.recommendations(value), value.problems())
            case .advise:
                let value = try decoder.decode(Advice.self, from: data)
                (answer, problems) = (.advice(value), value.problems())
            }
            return problems.isEmpty ? .success(answer) : .failure(StepAnswerError(step: self, problems: problems))
        } catch let error as DecodingError {
            return .failure(StepAnswerError(step: self, problems: [Self.problem(error)]))
        } catch {
            return .failure(StepAnswerError(step: self, problems: [.init(path: "", message: "\(error)")]))
        }
    }

    private static func problem(_ error: DecodingError) -> PlanProblem {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return path + "[\(index)]" }
                return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .init(path: path(context.codingPath + [key]), message: "is missing")
        case .typeMismatch(let type, let context):
            return .init(path: path(context.codingPath), message: "must be \(Self.name(of: type))")
        case .valueNotFound(let type, let context):
            return .init(path: path(context.codingPath), message: "must be \(Self.name(of: type)), not null")
        case .dataCorrupted(let context):
            return .init(path: path(context.codingPath), message: context.debugDescription)
        @unknown default:
            return .init(path: "", message: "\(error)")
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type, is Risk.Type: "text"
        case is Bool.Type: "true or false"
        case is Double.Type, is Int.Type: "a number"
        default: type is any Collection.Type ? "a list" : "an object"
        }
    }
}

/// A step's answer that cannot be used, with every problem found.
public struct StepAnswerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var step: AnswerStep
    public var problems: [PlanProblem]

    public init(step: AnswerStep, problems: [PlanProblem]) {
        self.step = step
        self.problems = problems
    }

    /// One problem a line.
    public var description: String { problems.map { "- \($0)" }.joined(separator: "\n") }
}
