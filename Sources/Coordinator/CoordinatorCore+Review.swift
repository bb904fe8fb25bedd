import DroverProtocol

/// `review` on the control socket: a ``Reviewer`` over a copy of the state.
extension CoordinatorCore {
    func review(_ request: ReviewRequest) throws(ProtocolError) -> ReviewBody {
        if let plan = request.plan, todos.plans[plan] == nil {
            throw ProtocolError(.rejected, "no plan \(plan) (see `drover status`)")
        }
        return Reviewer(reviewInput(plan: request.plan)).review()
    }

    func reviewInput(plan only: String?) -> ReviewInput {
        var plans: [ReviewInput.PlanInfo] = []
        var items: [ReviewInput.Item] = []
        for record in todos.plans.values.sorted(by: { $0.order < $1.order }) where only == nil || record.plan.id == only {
            plans.append(.init(id: record.plan.id, title: record.plan.title, state: record.state, paused: record.paused))
            for spec in record.plan.todos {
                guard let todo = todos[TodoKey(plan: record.plan.id, todo: spec.id)] else { continue }
                items.append(
                    ReviewInput.Item(
                        key: todo.key.description,
                        plan: record.plan.id,
                        title: spec.title,
                        state: todo.state,
                        dependsOn: spec.dependsOn.map { "\(record.plan.id)/\($0)" },
                        branch: record.plan.branch(of: spec.id),
                        facts: todo.facts,
                        repairs: todo.attempts + todo.recoveries.values.reduce(0, +),
                        detail: todo.detail,
                        touchedFiles: spec.filesTouched(todo.facts)
                    )
                )
            }
        }
        let slots = workers.slots
        return ReviewInput(
            now: wallClockMilliseconds(),
            plans: plans,
            items: items,
            slots: slots.total,
            freeSlots: slots.free,
            inbox: inbox.items.filter { only == nil || $0.plan == only },
            jobs: jobs.all.filter { only == nil || $0.id == only }.map {
                withSpend($0.view(full: false, counts: nil), of: $0, full: false)
            },
            integrations: Dictionary(
                uniqueKeysWithValues: plans.compactMap { plan in
                    merges[plan.id] == nil ? nil : (plan.id, "drover/\(plan.id)/integration")
                }
            )
        )
    }
}
