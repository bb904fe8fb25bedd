import DroverProtocol

/// What a job has spent: the model tokens and cost of every plan it ran (its steps, each run of them, its plan, and
/// the merges, advisors and AI review of each), for `drover job show`, the dashboard's job view and `drover review`.
extension CoordinatorCore {
    /// The plans a job ran, in the order they ran.
    func plans(of job: JobRecord) -> [String] {
        var ids: [String] = []
        for step in JobStep.allCases {
            let runs = job.stepRuns[step.rawValue] ?? 0
            if runs > 0 { ids += (1...runs).map { JobStepPlan.id(job: job.id, step: step, run: $0) } }
        }
        ids.append(job.id)
        let beside = ids.flatMap { [MergeQueue.mergePlanID(of: $0), AdvisorPlan.id(of: $0), AIReviewPlan.id(of: $0)] }
        return (ids + beside).filter { todos.plans[$0] != nil }
    }

    /// The job's spend per plan (those that spent anything) and in all.
    func spend(of job: JobRecord) -> (tokens: Int64?, costUSD: Double?, plans: [PlanSpend]) {
        var spent: [PlanSpend] = []
        for id in plans(of: job) {
            guard let record = todos.plans[id] else { continue }
            let status = planStatus(record)
            guard let tokens = status.tokens else { continue }
            spent.append(PlanSpend(plan: id, tokens: tokens, costUSD: status.costUSD))
        }
        let costs = spent.compactMap(\.costUSD)
        return (
            spent.isEmpty ? nil : spent.map(\.tokens).reduce(0, +),
            costs.isEmpty ? nil : costs.reduce(0, +),
            spent
        )
    }

    /// A job's view with its spend: per plan too when `full`.
    func withSpend(_ view: JobView, of job: JobRecord, full: Bool) -> JobView {
        var view = view
        let spent = spend(of: job)
        view.tokens = spent.tokens
        view.costUSD = spent.costUSD
        if full, !spent.plans.isEmpty { view.spend = spent.plans }
        return view
    }
}
