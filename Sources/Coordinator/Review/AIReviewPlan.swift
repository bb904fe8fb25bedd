import DroverProtocol
import Foundation

/// The plan that runs a finished plan's AI review: `<plan>-next`, one read-only codex TODO (no network, a worktree
/// detached at the plan's integration branch, or its base when nothing was merged) whose session reads the plan's
/// report and the repository and answers with ``Recommendations`` (`TaskSpec.output`, step `recommend`). It is
/// scheduled, leased, supervised and recovered as any TODO is; it gets no report, no merge queue, and is no job.
/// Asked for again after a review that failed, the plan takes one more TODO, `review-<n>`.
enum AIReviewPlan {
    /// The reviewer's plan id: `<plan>-next`. A plan with a repository has an id of at most 58 characters, so it fits.
    static func id(of plan: String) -> String { "\(plan)-next" }

    /// The id of the reviewer's TODO: `review`, then `review-2`, `review-3`… for reviews asked for again.
    static func todoID(run: Int) -> String { run <= 1 ? "review" : "review-\(run)" }

    /// The line every reviewer prompt begins with (the scripted model in tests and the demo matches on it).
    static let marker = "Drover AI review: recommendations"

    /// How long a review may run, and its turn budget: enough for a few repairs of its answer.
    static let timeoutSeconds: Double = 1800
    static let turns = 8

    /// Where the reviewer's worktree starts: the integration branch when something was merged, else the plan's base.
    static func base(of plan: Plan, _ report: PlanReport) -> String? {
        report.integration?.head == nil ? plan.base : plan.integrationBranch
    }

    /// The reviewer's plan, with its first TODO.
    static func plan(reviewing plan: Plan, _ report: PlanReport) -> Plan {
        Plan(
            id: id(of: plan.id),
            title: "AI review of plan \(plan.id)",
            repository: plan.repository,
            base: base(of: plan, report),
            todos: [todo(run: 1, reviewing: report)]
        )
    }

    /// One review: a read-only TODO whose prompt carries the report.
    static func todo(run: Int, reviewing report: PlanReport) -> Todo {
        Todo(
            id: todoID(run: run),
            title: "Recommend tests, deployment notes and follow-up work for plan \(report.plan)",
            prompt: prompt(reviewing: report),
            risk: .low,
            budget: Budget(turns: turns),
            timeoutSeconds: timeoutSeconds,
            maxAttempts: 1,
            permissions: Permissions(sandbox: "read-only", network: false)
        )
    }

    /// The reviewer's prompt: what the plan came to (its report without any earlier AI review, and the files each
    /// TODO changed), and what to answer.
    static func prompt(reviewing report: PlanReport) -> String {
        var facts = report
        facts.aiReview = nil
        var parts = [
            marker,
            "You review the work of Drover, which ran coding agents on this repository to carry out a plan. The current "
                + "directory is the repository as the plan left it (read-only for you: do not change files). Below is the "
                + "plan's report: what each TODO came to, what was merged and what was left out, and Drover's own next steps.",
            facts.markdown.trimmingCharacters(in: .whitespacesAndNewlines),
        ]
        let changed = report.todos.filter { !$0.files.isEmpty }
        if !changed.isEmpty {
            parts.append(
                "Files each TODO changed:\n"
                    + changed.map { "- \($0.id): " + $0.files.prefix(50).joined(separator: ", ") + ($0.files.count > 50 ? ", …" : "") }
                    .joined(separator: "\n")
            )
        }
        parts.append(
            """
            Read the changed files where you need to, then answer with only the JSON object the output schema asks for:
            `summary` (two or three sentences: what the work amounts to and what matters most now), `tests` (tests to add:
            what to test and where), `deployment` (what to mind when deploying or releasing this work: migrations,
            configuration, order of steps, what to watch), `follow_up` (work left to do: what the plan left out or failed,
            what the changes call for next). Be concrete and name files; give an empty list where you have nothing to
            say. Say only what the report and the repository support.
            """
        )
        return parts.joined(separator: "\n\n")
    }
}
