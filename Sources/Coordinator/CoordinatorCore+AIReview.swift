import DroverProtocol
import Foundation

/// A finished plan's AI review (`plan_report` with `ai`): a read-only codex TODO in the plan `<plan>-next`
/// (``AIReviewPlan``) whose answer, ``Recommendations``, is kept in the plan's stored report as the model's opinion
/// (``PlanReport/AIReview``). Events `plan.review_requested` and `plan.reviewed`.
extension CoordinatorCore {
    /// `plan_report` with `ai`: starts the review of a finalized plan unless one is done or under way; returns the
    /// report as it is then.
    func requestAIReview(of report: PlanReport, now: Int64) throws(ProtocolError) -> PlanReport {
        if let review = report.aiReview, review.state == .done || review.state == .running { return report }
        guard let reviewed = todos.plans[report.plan] else {
            throw ProtocolError(.rejected, "no plan \(report.plan): see `drover status`")
        }
        let reviewerID = AIReviewPlan.id(of: report.plan)
        if let problem = Identifier.problem(with: reviewerID) {
            throw ProtocolError(
                .rejected,
                "plan \(report.plan) cannot have an AI review: its reviewer's plan id \(reviewerID) \(problem) "
                    + "(a plan's id must be at most \(Identifier.maxLength - 5) characters for it)"
            )
        }
        let todoID: String
        if let reviewer = todos.plans[reviewerID] {
            guard reviewers[reviewerID] == report.plan else {
                throw ProtocolError(
                    .rejected,
                    "a plan named \(reviewerID) is here, and plan \(report.plan)'s AI review would run under that id: "
                        + "it cannot have one in this state directory"
                )
            }
            // Asked again after a review that failed: one more TODO in the reviewer's plan, with the report as it is.
            var run = reviewer.plan.todos.count + 1
            while reviewer.plan.todos.contains(where: { $0.id == AIReviewPlan.todoID(run: run) }) { run += 1 }
            let todo = AIReviewPlan.todo(run: run, reviewing: report)
            let codec = self.codec
            let readied = todos.append(todo, to: reviewerID) { String(decoding: codec.json(SubmitBody(plan: $0)), as: UTF8.self) }
            if readied { record(.todoReady, plan: reviewerID, todo: todo.id) }
            todoID = todo.id
        } else {
            let plan = AIReviewPlan.plan(reviewing: reviewed.plan, report)
            reviewers[reviewerID] = report.plan
            addPlan(plan, submitJSON: String(decoding: codec.json(SubmitBody(plan: plan)), as: UTF8.self))
            todoID = AIReviewPlan.todoID(run: 1)
        }
        var asked = report
        asked.aiReview = PlanReport.AIReview(state: .running, plan: reviewerID, todo: todoID, requestedAt: wallClockMilliseconds())
        keepReport(asked)
        record(.planReviewRequested, plan: report.plan, ["reviewer": .string("\(reviewerID)/\(todoID)")])
        schedule(now: now)
        return asked
    }

    /// What a worker is told for a reviewer's TODO: read-only work detached at the plan's base (the reviewed plan's
    /// integration branch, or its base), answering with recommendations. Nil for any other TODO.
    func reviewTask(for todo: TodoRecord) -> TaskSpec? {
        guard reviewers[todo.key.plan] != nil, let plan = todos.plans[todo.key.plan]?.plan else { return nil }
        return TaskSpec(todo.spec, repository: plan.repository, branch: nil, base: plan.base, output: OutputSpec(step: .recommend))
    }

    /// Whether `plan` runs a plan's AI review: it gets no report of its own.
    func isAIReviewer(_ plan: String) -> Bool { reviewers[plan] != nil }

    /// A reviewer's answer arrived with its report; it is read when its TODO has ended, in this batch.
    func keepReviewAnswer(_ output: String, model: String?, key: TodoKey) {
        guard reviewers[key.plan] != nil else { return }
        reviewAnswers[key] = (output, model)
    }

    /// A reviewer's plan ended: its answer goes into the reviewed plan's report, or a note says why there is none.
    func reviewerEnded(_ reviewerPlan: PlanRecord) {
        let reviewerID = reviewerPlan.plan.id
        guard let planID = reviewers[reviewerID], var report = storedReport(planID), var review = report.aiReview,
            review.plan == reviewerID
        else { return }
        let key = TodoKey(plan: reviewerID, todo: review.todo)
        let answer = reviewAnswers.removeValue(forKey: key)
        let todo = todos[key]
        review.madeAt = wallClockMilliseconds()
        review.model = answer?.model
        switch (todo?.state, answer.map { AnswerStep.recommend.read($0.output) }) {
        case (.done, .success(.recommendations(let recommendations))):
            review.state = .done
            review.recommendations = recommendations
            review.note = nil
        case (.done, .failure(let error)):
            review.state = .failed
            review.note = "its answer is not usable:\n\(error)"
        case (.done, _):
            review.state = .failed
            review.note = "it ended without an answer (its worker sent none)"
        default:
            review.state = .failed
            review.note = "\(key) \(todo?.state.rawValue ?? "ended"): \(todo?.detail ?? "no detail")"
        }
        report.aiReview = review
        keepReport(report)
        var data: [String: JSONValue] = ["state": .string(review.state.rawValue), "reviewer": .string(key.description)]
        if let model = review.model { data["model"] = .string(model) }
        if let recommendations = review.recommendations, review.state == .done {
            data["tests"] = .int(Int64(recommendations.tests.count))
            data["deployment"] = .int(Int64(recommendations.deployment.count))
            data["follow_up"] = .int(Int64(recommendations.followUp.count))
        }
        if let note = review.note { data["note"] = .string(note) }
        record(.planReviewed, plan: planID, data)
    }

    /// The reviewers after a restart: each `<plan>-next` that the plan's stored report names as its review's.
    func restoreAIReviewers() {
        for id in todos.plans.keys {
            let reviewerID = AIReviewPlan.id(of: id)
            guard todos.plans[reviewerID] != nil, storedReport(id)?.aiReview?.plan == reviewerID else { continue }
            reviewers[reviewerID] = id
        }
    }

    /// A plan's report as it is now: made in this batch, or stored.
    func storedReport(_ plan: String) -> PlanReport? {
        if let made = finalized.last(where: { $0.plan == plan }) {
            return try? codec.decode(PlanReport.self, from: Data(made.json.utf8))
        }
        guard let json = try? store.planReport(plan) else { return nil }
        return try? codec.decode(PlanReport.self, from: json)
    }

    /// Stores a plan's report with this batch.
    func keepReport(_ report: PlanReport) {
        finalized.append((report.plan, String(decoding: codec.json(report), as: UTF8.self)))
    }
}
