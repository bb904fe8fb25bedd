import DroverProtocol

/// FINALIZE: when a plan has ended and so has its merge queue, its report is made and stored with it
/// (``PlanReporter``), and `plan.finalized` says so.
extension CoordinatorCore {
    /// Finalizes the plan `id` belongs to (itself, or the plan it merges) once it and its merges have ended.
    func finalizeIfDone(_ id: String) {
        let planID = merges.integration(mergedBy: id)?.plan ?? id
        guard let planRecord = todos.plans[planID], planRecord.state != .running, !isJobStep(planID),
            !isAIReviewer(planID), !isAdvisor(planID)
        else { return }
        let integration = merges[planID]
        if let integration, todos.plans[integration.mergePlan]?.state == .running { return }
        var todoRecords: [String: TodoRecord] = [:]
        var mergeRecords: [String: TodoRecord] = [:]
        for spec in planRecord.plan.todos {
            todoRecords[spec.id] = todos[TodoKey(plan: planID, todo: spec.id)]
            if let integration { mergeRecords[spec.id] = todos[TodoKey(plan: integration.mergePlan, todo: spec.id)] }
        }
        var report = PlanReporter.report(
            plan: planRecord,
            todos: todoRecords,
            integration: integration,
            merges: mergeRecords,
            nextSteps: Reviewer(reviewInput(plan: planID)).review().nextSteps,
            now: wallClockMilliseconds()
        )
        // Made again (a TODO taken up again after it was made): an AI review under way still lands in it; one that
        // has ended was of the report before, and goes with it.
        if let review = storedReport(planID)?.aiReview, review.state == .running { report.aiReview = review }
        keepReport(report)
        var data: [String: JSONValue] = [
            "state": .string(planRecord.state.rawValue), "done": .int(Int64(report.todos.count { $0.state == .done })),
            "todos": .int(Int64(report.todos.count)),
        ]
        if let integration = report.integration {
            data["merged"] = .int(Int64(integration.merged.count))
            if let head = integration.head { data["head"] = .string(head) }
        }
        record(.planFinalized, plan: planID, data)
    }

    /// A job's step runs as a plan of its own; it gets no report (nor does a plan's AI review).
    private func isJobStep(_ plan: String) -> Bool {
        jobs.all.contains { job in
            JobStep.allCases.contains { step in
                plan == "\(job.id)-\(step.rawValue)" || plan.hasPrefix("\(job.id)-\(step.rawValue)-")
            }
        }
    }

    /// `plan_report` on the control socket: the report of a finalized plan; with `ai`, its AI review is asked for too.
    func planReport(_ request: ReportRequest, now: Int64) throws(ProtocolError) -> PlanReport {
        guard todos.plans[request.plan] != nil else { throw ProtocolError(.rejected, "no plan \(request.plan): see `drover status`") }
        guard let report = storedReport(request.plan) else {
            let what = request.ai == true ? "no report to review yet" : "no report yet"
            throw ProtocolError(
                .rejected,
                "plan \(request.plan) has \(what): it is made when the plan and its merges have ended (see `drover status`)"
            )
        }
        return request.ai == true ? try requestAIReview(of: report, now: now) : report
    }
}
