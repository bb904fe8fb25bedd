import DroverProtocol
import Foundation

/// Jobs, their transitions and their permission questions as text for people (`drover job`, `drover inbox`,
/// `drover run --goal`).
public enum JobText {
    /// One line per job: id, state, goal, and why it is where it is.
    public static func listLine(_ job: JobView) -> String {
        "\(job.id)  [\(job.state)]  \(oneLine(job.goal, limit: 70))" + (job.reason.isEmpty ? "" : "  (\(oneLine(job.reason, limit: 80)))")
    }

    /// A transition: `from → to: reason`.
    public static func transition(from: JobState?, to: JobState, reason: String) -> String {
        "\(from.map(\.rawValue) ?? "start") → \(to)" + (reason.isEmpty ? "" : ": \(reason)")
    }

    /// A job with its history and every artifact so far.
    public static func render(_ job: JobView) -> String {
        var lines = ["job \(job.id) [\(job.state)]", "  goal: \(job.goal)", "  repository: \(job.repository)"]
        if let base = job.base { lines.append("  base: \(base)") }
        if !job.reason.isEmpty { lines.append("  reason: \(job.reason)") }
        lines.append("  created \(Self.time(job.createdAt)), updated \(Self.time(job.updatedAt))")
        if let step = job.step { lines.append("  running step: plan \(step)") }
        if let counts = job.counts, !counts.isEmpty {
            let total = counts.values.reduce(0, +)
            lines.append("  TODOs: \(counts["done"] ?? 0)/\(total) done (\(Self.counts(counts)))")
        }
        if let tokens = job.tokens {
            lines.append("  spent: \(Self.spend(tokens, job.costUSD))")
            for plan in job.spend ?? [] { lines.append("    plan \(plan.plan): \(Self.spend(plan.tokens, plan.costUSD))") }
        }
        if !job.transitions.isEmpty {
            lines.append("")
            lines.append("history:")
            for transition in job.transitions {
                lines.append(
                    "  \(Self.time(transition.at))  " + Self.transition(from: transition.from, to: transition.to, reason: transition.reason)
                )
            }
        }
        if let classification = job.classification {
            lines.append("")
            lines.append(
                "classification: \(classification.kind), complexity \(classification.complexity)"
                    + (classification.needsInvestigation ? ", needs an investigation" : "")
            )
            lines.append(contentsOf: indented(classification.summary))
        }
        if let answer = job.answer ?? job.classification?.answer {
            lines.append("")
            lines.append("answer:")
            lines.append(contentsOf: indented(answer))
        }
        if let context = job.context {
            lines.append("")
            lines.append("context document:")
            lines.append(contentsOf: indented(context))
        }
        if let plan = job.plan {
            lines.append("")
            lines.append(contentsOf: planSummary(plan))
            lines.append("  (the whole plan as a plan file: `drover job plan \(job.id)`)")
        }
        if let grants = job.grants {
            lines.append("")
            lines.append(grants.isEmpty ? "permissions: none needed beyond the defaults" : "permissions the plan needs:")
            lines.append(contentsOf: grants.map { "  " + grantLine($0, decision: job.permissions) })
        }
        if let decision = job.permissions {
            lines.append("permission decision (by \(decision.decidedBy)): " + decisionText(decision))
            if let skipped = job.skipped { lines.append("skipped, left out of the plan that runs: " + skipped.joined(separator: ", ")) }
        }
        if let item = job.inboxItem {
            lines.append("")
            lines.append("waits for the operator: inbox item \(item) (`drover inbox`, then `drover answer \(item) …`)")
        }
        return lines.joined(separator: "\n")
    }

    /// The plan's TODOs, one line each, with what they depend on and need.
    public static func planSummary(_ plan: Plan) -> [String] {
        var lines = ["plan \(plan.id): \(plan.title), \(plan.todos.count) TODO\(plan.todos.count == 1 ? "" : "s")"]
        for todo in plan.todos {
            var line = "  \(todo.id): \(oneLine(todo.title, limit: 80))"
            var notes: [String] = []
            if !todo.dependsOn.isEmpty { notes.append("after \(todo.dependsOn.joined(separator: ", "))") }
            if todo.risk != .low { notes.append("risk \(todo.risk)") }
            if let minutes = todo.estimateMinutes { notes.append("~\(Self.number(minutes)) min") }
            if !notes.isEmpty { line += " (\(notes.joined(separator: "; ")))" }
            lines.append(line)
        }
        return lines
    }

    /// A grant, what it allows, the TODOs that need it, and whether it was granted.
    public static func grantLine(_ grant: PermissionGrant, decision: PermissionDecision? = nil) -> String {
        var line = "\(grant.id): \(grant.description); needed by \(grant.todos.joined(separator: ", "))"
        if let decision {
            if decision.granted.contains(grant.id) { line += " — granted" }
            if decision.refused.contains(grant.id) { line += " — refused" }
        }
        return line
    }

    /// What was granted and refused, and what follows.
    public static func decisionText(_ decision: PermissionDecision) -> String {
        var parts: [String] = []
        parts.append(decision.granted.isEmpty ? "nothing granted" : "granted \(decision.granted.joined(separator: ", "))")
        if !decision.refused.isEmpty {
            parts.append(
                "refused \(decision.refused.joined(separator: ", ")) "
                    + (decision.replan ? "(the plan is made again without them)" : "(the TODOs that need them are skipped)")
            )
        }
        if decision.remember { parts.append("remembered for the repository") }
        return parts.joined(separator: "; ")
    }

    /// An inbox item of kind `permissions`: the job, each grant with the TODOs that need it, and how to answer.
    public static func permissionsItem(_ item: InboxItem) -> [String] {
        var lines = ["\(item.id)  permissions for job \(item.job ?? item.plan)"]
        if !item.text.isEmpty { lines.append("    \(item.text)") }
        for grant in item.grants ?? [] { lines.append("    - " + grantLine(grant)) }
        return lines
    }

    /// A policy rule: repository, grant, decision, and when and in which job it was decided.
    public static func ruleLine(_ rule: PolicyRule) -> String {
        "\(rule.repository)  \(rule.grant)  \(rule.decision == .approve ? "approved" : rule.decision == .deny ? "denied" : rule.decision.rawValue)"
            + "  (job \(rule.job), \(time(rule.decidedAt)))"
    }

    /// Tokens and, when a price is known, what they cost.
    static func spend(_ tokens: Int64, _ cost: Double?) -> String {
        "\(tokens) tokens" + (cost.map { String(format: ", $%.2f", $0) } ?? " (no price known)")
    }

    static func counts(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    static func indented(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  \($0)" }
            .reversed().drop { $0.isEmpty }.reversed()
    }

    public static func oneLine(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }

    /// Milliseconds since the Unix epoch as UTC time, to the second.
    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
