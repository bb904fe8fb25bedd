import DroverProtocol

/// Builds a finished plan's report (FINALIZE) from what the coordinator knows: its TODOs as they ended, its merge
/// queue, and the review's next steps. A pure function of its inputs.
enum PlanReporter {
    static func report(
        plan record: PlanRecord,
        todos: [String: TodoRecord],
        integration: MergeQueue.Integration?,
        merges: [String: TodoRecord],
        nextSteps: [ReviewBody.NextStep],
        now: Int64
    ) -> PlanReport {
        let plan = record.plan
        let lines = plan.todos.map { spec -> PlanReport.TodoLine in
            let todo = todos[spec.id]
            return PlanReport.TodoLine(
                id: spec.id,
                title: spec.title,
                state: todo?.state ?? .pending,
                detail: todo?.detail,
                attempts: todo?.attempts ?? 0,
                recoveries: todo?.recoveries ?? [:],
                tokens: todo?.facts.tokens ?? 0,
                durationMs: todo?.facts.durationMs,
                files: todo?.facts.files ?? [],
                checks: spec.checks.map(\.description),
                merge: integration == nil ? nil : merges[spec.id]?.state.rawValue,
                checkResults: todo?.facts.checks ?? [],
                diffStat: todo?.facts.diffStat,
                costUSD: todo?.facts.costUSD
            )
        }
        return PlanReport(
            plan: plan.id,
            title: plan.title,
            state: record.state,
            generatedAt: now,
            todos: lines,
            integration: integration.map { integrationLine(of: plan, $0, todos: todos, merges: merges) },
            nextSteps: nextSteps
        )
    }

    private static func integrationLine(
        of plan: Plan,
        _ integration: MergeQueue.Integration,
        todos: [String: TodoRecord],
        merges: [String: TodoRecord]
    ) -> PlanReport.Integration {
        var leftOut: [String: String] = [:]
        for spec in plan.todos where !integration.merged.contains(spec.id) {
            let todo = todos[spec.id]
            if todo?.state != .done {
                leftOut[spec.id] = "not done (\(todo?.state.rawValue ?? "unknown"))"
            } else {
                let merge = merges[spec.id]
                leftOut[spec.id] = "its merge \(merge?.state.rawValue ?? "did not run")" + (merge?.detail.map { ": \($0)" } ?? "")
            }
        }
        let tags = integration.head == nil ? [] : ["drover/\(plan.id)/base"] + integration.merged.map { "drover/\(plan.id)/after-\($0)" }
        let checks = integration.merged.last.map { last in
            plan.integrationChecks(merging: last, after: Set(integration.merged)).map(\.description)
        }
        return PlanReport.Integration(
            branch: plan.integrationBranch,
            head: integration.head,
            merged: integration.merged,
            leftOut: leftOut,
            tags: tags,
            checks: checks ?? []
        )
    }
}
