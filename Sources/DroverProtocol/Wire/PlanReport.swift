import Foundation

/// What a plan came to, made when it has ended and its merge queue is empty (FINALIZE), stored with the plan, and
/// printed by `drover plan report` and at the end of `drover run`: each TODO with its outcome, the integration
/// branch, what was left out and why, the tags to go back to, and what to do next.
public struct PlanReport: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case plan, title, state, generatedAt = "generated_at", todos, integration, nextSteps = "next_steps", aiReview = "ai_review"
    }

    /// One TODO's line in the report.
    public struct TodoLine: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case id, title, state, detail, attempts, recoveries, tokens, durationMs = "duration_ms", files, checks, merge,
                checkResults = "check_results", diffStat = "diff_stat", costUSD = "cost_usd"
        }

        public var id: String
        public var title: String
        public var state: TodoState
        /// How it ended, in its worker's words.
        public var detail: String?
        /// Failed runs.
        public var attempts: Int
        /// Recoveries granted, by trouble (`hung`, `stopped_early`…).
        public var recoveries: [String: Int]
        public var tokens: Int64
        /// Wall time of the run that ended it.
        public var durationMs: Int64?
        /// The files its branch changed.
        public var files: [String]
        /// Its acceptance checks, as written.
        public var checks: [String]
        /// Its merge into the integration branch: `done`, `skipped`, `escalated`…; nil without a repository.
        public var merge: String?
        /// Its checks' results, from the last run that ran them (empty when none did).
        public var checkResults: [CheckResult]?
        /// How much its branch changed.
        public var diffStat: DiffStat?
        /// What its model tokens cost, in US dollars, by the coordinator's price table (nil: no price known).
        public var costUSD: Double?

        public init(
            id: String,
            title: String,
            state: TodoState,
            detail: String?,
            attempts: Int,
            recoveries: [String: Int],
            tokens: Int64,
            durationMs: Int64?,
            files: [String],
            checks: [String],
            merge: String?,
            checkResults: [CheckResult]? = nil,
            diffStat: DiffStat? = nil,
            costUSD: Double? = nil
        ) {
            self.costUSD = costUSD
            self.checkResults = checkResults
            self.diffStat = diffStat
            self.id = id
            self.title = title
            self.state = state
            self.detail = detail
            self.attempts = attempts
            self.recoveries = recoveries
            self.tokens = tokens
            self.durationMs = durationMs
            self.files = files
            self.checks = checks
            self.merge = merge
        }
    }

    /// The integration branch, as the last merge left it.
    public struct Integration: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case branch, head, merged, leftOut = "left_out", tags, checks
        }

        public var branch: String
        public var head: String?
        /// The TODOs merged, in order.
        public var merged: [String]
        /// TODOs whose work is not in it, and why.
        public var leftOut: [String: String]
        /// Tags to go back to: the base, then one after each merge.
        public var tags: [String]
        /// The integration checks the last merge passed.
        public var checks: [String]

        public init(branch: String, head: String?, merged: [String], leftOut: [String: String], tags: [String], checks: [String]) {
            self.branch = branch
            self.head = head
            self.merged = merged
            self.leftOut = leftOut
            self.tags = tags
            self.checks = checks
        }
    }

    public var plan: String
    public var title: String
    public var state: PlanState
    /// Milliseconds since the Unix epoch.
    public var generatedAt: Int64
    public var todos: [TodoLine]
    public var integration: Integration?
    public var nextSteps: [ReviewBody.NextStep]
    /// The AI review, when one was asked for (`plan_report` with `ai`): a codex session's recommendations, the
    /// model's opinion rather than checked facts.
    public var aiReview: AIReview?

    public init(
        plan: String,
        title: String,
        state: PlanState,
        generatedAt: Int64,
        todos: [TodoLine],
        integration: Integration?,
        nextSteps: [ReviewBody.NextStep],
        aiReview: AIReview? = nil
    ) {
        self.aiReview = aiReview
        self.plan = plan
        self.title = title
        self.state = state
        self.generatedAt = generatedAt
        self.todos = todos
        self.integration = integration
        self.nextSteps = nextSteps
    }

    /// The report as Markdown.
    public var markdown: String {
        var lines = ["# \(title)", ""]
        let done = todos.count { $0.state == .done }
        let costs = todos.compactMap(\.costUSD)
        let cost = costs.isEmpty ? "" : String(format: " Model cost: $%.2f.", costs.reduce(0, +))
        lines.append("Plan `\(plan)` \(state.rawValue): \(done) of \(todos.count) TODOs done.\(cost)")
        lines.append("")
        lines.append("| TODO | outcome | changes | checks | recoveries | tokens | time |")
        lines.append("|---|---|---|---|---|---|---|")
        for todo in todos {
            let recoveries =
                todo.recoveries.isEmpty
                ? "–" : todo.recoveries.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            let time = todo.durationMs.map { String(format: "%.1f s", Double($0) / 1000) } ?? "–"
            let outcome = todo.state.rawValue + (todo.attempts > 0 ? " (\(todo.attempts) failed runs)" : "")
            let changes = todo.diffStat?.summary ?? "\(todo.files.count) file\(todo.files.count == 1 ? "" : "s")"
            lines.append(
                "| \(cell(todo.id)): \(cell(todo.title)) | \(outcome) | \(changes) | \(checks(todo)) | \(recoveries) | \(todo.tokens)"
                    + (todo.costUSD.map { String(format: " ($%.2f)", $0) } ?? "") + " | \(time) |"
            )
        }
        for todo in todos {
            for check in todo.checkResults ?? [] where !check.passed {
                lines.append("")
                lines.append("- `\(todo.id)` check `\(cell(check.check))` failed: \(cell(String(check.detail.suffix(300))))")
            }
        }
        for todo in todos where todo.state != .done {
            lines.append("")
            lines.append("- `\(todo.id)` \(todo.state.rawValue): \(todo.detail ?? "no detail")")
        }
        if let integration {
            lines += ["", "## Integration", ""]
            lines.append(
                "`\(integration.branch)` is at \(integration.head.map { "`\($0.prefix(12))`" } ?? "its base (nothing merged)"), with "
                    + "\(integration.merged.count) of \(todos.count) merged: \(integration.merged.joined(separator: ", "))."
            )
            if !integration.checks.isEmpty {
                lines.append(
                    "The last merge passed the integration checks: " + integration.checks.joined(separator: "; ") + "."
                )
            }
            if !integration.leftOut.isEmpty {
                lines += ["", "Left out:"]
                for (todo, reason) in integration.leftOut.sorted(by: { $0.key < $1.key }) { lines.append("- `\(todo)`: \(reason)") }
            }
            if !integration.tags.isEmpty {
                lines += ["", "Tags to go back to: " + integration.tags.map { "`\($0)`" }.joined(separator: ", ") + "."]
            }
        }
        if !nextSteps.isEmpty {
            lines += ["", "## Next steps", ""]
            for step in nextSteps {
                lines.append("\(step.rank). \(step.action)" + (step.command.map { ": `\($0)`" } ?? "") + " (\(step.reason))")
            }
        }
        if let aiReview { lines += [""] + aiReview.markdownLines(plan: plan) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `2/2 passed`, or `–` when no run ran its checks.
    private func checks(_ todo: TodoLine) -> String {
        guard let results = todo.checkResults, !results.isEmpty else { return todo.checks.isEmpty ? "–" : "not run" }
        return "\(results.count { $0.passed })/\(results.count) passed"
    }

    private func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// `plan_report` on the control socket: a finished plan's report. The reply is `plan_report` with a ``PlanReport``, or an
/// `error` when the plan does not exist or has not finished. With `ai`, the coordinator also starts the plan's AI
/// review (``PlanReport/AIReview``) unless it has one done or under way; the reply is the report as it is then, and
/// `plan.reviewed` says when the review has ended.
public struct ReportRequest: WireBody, Equatable {
    public var plan: String
    /// Ask for the plan's AI review too.
    public var ai: Bool?

    public init(plan: String, ai: Bool? = nil) {
        self.plan = plan
        self.ai = ai
    }

    public func validate() throws(ProtocolError) { try requireID(plan, "plan") }
}

extension PlanReport: WireBody {
    public static var maxBytes: Int { WireLimits.documentBytes }
    public func validate() throws(ProtocolError) {}
}
