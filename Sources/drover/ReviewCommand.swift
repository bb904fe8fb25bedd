import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation
import Worker

struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Progress, velocity, ETA (P50/P90 along the critical path), bottlenecks, risks and ranked next steps.",
        discussion: """
            The figures come from the coordinator: durations of finished TODOs, the remaining dependency graph, workers \
            and the inbox. --ai also asks a read-only Codex session for a narrative, printed apart and marked as such.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown }

    @OptionGroup var location: CoordinatorLocation
    @Option(help: "Review only this plan.") var plan: String?
    @Option(help: "text or markdown.") var format: Format = .text
    @Flag(help: "Print the review as JSON.") var json = false
    @Flag(help: "Also ask a Codex reviewer session (read-only, structured output) for a narrative.") var ai = false
    @OptionGroup var codex: CodexOptions

    func validate() throws {
        if let plan, let problem = Identifier.problem(with: plan) { throw ValidationError("--plan \(plan): \(problem)") }
        if ai { _ = try codex.configuration() }
    }

    func run() async throws {
        var review = try await location.controlClient().request(
            .review,
            ReviewRequest(plan: plan),
            as: ReviewBody.self
        )
        // The figures are printed even when the reviewer fails; the failure is said after them, and sets the status.
        var reviewerFailure: (any Error)?
        if ai {
            if !json { printError("asking a Codex reviewer (\(codex.model))…") }
            do {
                review.narrative = try await CodexReviewer(configuration: try codex.configuration()).narrate(review)
            } catch {
                reviewerFailure = error
            }
        }
        if json {
            printJSON(review)
        } else {
            print(ReviewText(review, markdown: format == .markdown).render())
        }
        if let reviewerFailure {
            printError("no AI narrative: \(reviewerFailure) (check --model, --model-base-url and the API key)")
            throw ExitCode(1)
        }
    }
}

/// The text and markdown forms of a review.
struct ReviewText {
    let review: ReviewBody
    let markdown: Bool

    init(_ review: ReviewBody, markdown: Bool) {
        self.review = review
        self.markdown = markdown
    }

    func render() -> String {
        var lines: [String] = []
        func heading(_ text: String) {
            if !lines.isEmpty { lines.append("") }
            lines.append(markdown ? "## \(text)" : text.uppercased())
        }
        func bullet(_ text: String) { lines.append(markdown ? "- \(text)" : "  \(text)") }
        func code(_ text: String) -> String { markdown ? "`\(text)`" : text }

        if markdown { lines.append("# Drover review") }
        heading("Progress")
        bullet("overall: \(progressLine(review.progress))")
        for plan in review.plans { bullet("plan \(code(plan.plan)) [\(plan.state)]: \(progressLine(plan.progress))") }
        let velocity = review.velocity
        bullet(
            "velocity: \(velocity.finished) done in the last \(humanDuration(seconds: velocity.windowSeconds)) "
                + "(\(String(format: "%.1f", velocity.perHour)) an hour)"
        )
        heading("ETA")
        if let eta = review.eta {
            bullet(
                "P50 \(humanDuration(seconds: eta.p50Seconds)) (at \(clock(eta.p50At))), P90 \(humanDuration(seconds: eta.p90Seconds)) (at \(clock(eta.p90At)))"
            )
            bullet(
                "set by the \(eta.bound == "capacity" ? "work over \(eta.slots) worker slots" : "critical path"); \(eta.remaining) TODOs left, "
                    + "from \(eta.samples) finished (P50 \(humanDuration(seconds: eta.sampleP50)), P90 \(humanDuration(seconds: eta.sampleP90)))"
            )
            bullet("critical path (\(humanDuration(seconds: eta.criticalPathSeconds)) at P50): \(pathLine(eta.criticalPath))")
        }
        if let note = review.etaNote { bullet(note) }
        // What the work has cost so far, beside when it should be done.
        let costs = review.plans.compactMap(\.costUSD)
        if !costs.isEmpty { bullet(String(format: "spent so far: $%.2f over all plans", costs.reduce(0, +))) }
        for plan in review.plans {
            if let tokens = plan.tokens { bullet("plan \(code(plan.plan)) spent \(spendText(tokens, plan.costUSD))") }
        }
        for job in review.jobs ?? [] where job.tokens > 0 { bullet("job \(code(job.plan)) spent \(spendText(job.tokens, job.costUSD))") }
        heading("Bottlenecks")
        if review.bottlenecks.isEmpty { bullet("none") }
        for finding in review.bottlenecks {
            bullet(
                "\(finding.kind.replacingOccurrences(of: "_", with: " ")): \(finding.todo.map { code($0) + " " } ?? "")\(finding.reason)"
            )
        }
        heading("Risks")
        if review.risks.isEmpty { bullet("no two branches change the same files") }
        for risk in review.risks { bullet("\(risk.branches.map(code).joined(separator: " and ")): \(risk.reason)") }
        heading("Next steps")
        if review.nextSteps.isEmpty { bullet("nothing to do") }
        for step in review.nextSteps {
            let line = "\(step.rank). \(step.action): \(step.reason)"
            lines.append(markdown ? line : "  \(line)")
            if let command = step.command { lines.append(markdown ? "   \(code(command))" : "     $ \(command)") }
        }
        if let narrative = review.narrative {
            heading("AI narrative (\(narrative.source), \(narrative.model); an opinion, not a measurement)")
            lines.append(markdown ? narrative.summary : "  \(narrative.summary)")
            for concern in narrative.concerns { bullet("concern: \(concern)") }
            for suggestion in narrative.suggestions { bullet("suggestion: \(suggestion)") }
        }
        return lines.joined(separator: "\n")
    }

    /// Tokens and, when a price is known, their cost.
    private func spendText(_ tokens: Int64, _ cost: Double?) -> String {
        "\(tokens) tokens" + (cost.map { String(format: ", $%.2f", $0) } ?? " (no price known)")
    }

    private func progressLine(_ progress: ReviewBody.Progress) -> String {
        var parts = ["\(progress.done)/\(progress.total) done (\(Int(progress.percent.rounded()))%)"]
        if progress.running > 0 { parts.append("\(progress.running) running") }
        if progress.queued > 0 { parts.append("\(progress.queued) queued") }
        if progress.stopped > 0 { parts.append("\(progress.stopped) stopped") }
        if progress.waitingOnHuman > 0 { parts.append("\(progress.waitingOnHuman) waiting on a human") }
        return parts.joined(separator: ", ")
    }

    private func pathLine(_ path: [String]) -> String {
        path.count <= 8
            ? path.joined(separator: " → ") : (path.prefix(4) + ["… \(path.count - 7) more …"] + path.suffix(3)).joined(separator: " → ")
    }

    private func clock(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
