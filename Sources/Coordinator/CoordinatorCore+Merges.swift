import DroverProtocol
import Foundation

/// The merge queue: each plan with a repository gets an integration branch, `drover/<plan>/integration`, and a plan
/// of merges that follows it (``MergeQueue``). A merge is leased to a worker as any TODO is; the worker merges the
/// TODO's branch, runs the integration checks and pushes only if they pass, expecting the branch at the head the
/// last merge left (so a merge redone after a lost worker is never applied twice).
extension CoordinatorCore {
    /// Starts the integration of a plan just added: its plan of merges, which waits for its TODOs.
    func startIntegration(of plan: Plan) {
        guard plan.repository != nil else { return }
        let mergePlan = MergeQueue.mergePlan(for: plan)
        guard todos.plans[mergePlan.id] == nil else { return }
        merges.add(MergeQueue.Integration(plan: plan.id, mergePlan: mergePlan.id))
        addPlan(
            mergePlan,
            submitJSON: String(decoding: codec.json(SubmitBody(plan: mergePlan)), as: UTF8.self),
            following: plan.id,
            serial: true
        )
    }

    /// What a worker is told for a merge: the TODO's branch into the integration branch at the head the queue
    /// knows, then the integration checks.
    func mergeTask(for todo: TodoRecord, of integration: MergeQueue.Integration) -> TaskSpec? {
        guard let plan = todos.plans[integration.plan]?.plan else { return nil }
        let id = todo.key.todo
        let title = plan.todos.first { $0.id == id }?.title ?? id
        return TaskSpec(
            title: todo.spec.title,
            command: nil,
            prompt: nil,
            timeoutSeconds: nil,
            checks: plan.integrationChecks(merging: id, after: Set(integration.merged)),
            repository: plan.repository,
            merge: MergeSpec(
                todo: id,
                title: title,
                branch: plan.branch(of: id),
                integration: plan.integrationBranch,
                expect: integration.head,
                base: plan.base,
                baseTag: "drover/\(plan.id)/base",
                tag: "drover/\(plan.id)/after-\(id)"
            )
        )
    }

    /// A merge's report: what it did to the integration branch is recorded before the merge TODO ends.
    func mergeReported(_ body: ReportBody, key: TodoKey, worker: String) {
        guard let integration = merges.integration(mergedBy: key.plan), let result = body.merge else { return }
        var data: [String: JSONValue] = ["outcome": .string(result.outcome.rawValue)]
        if let head = result.head { data["head"] = .string(head) }
        if result.outcome == .merged && body.outcome == .succeeded {
            merges.merged(key.todo, of: integration.plan, head: result.head)
            data["tag"] = .string("drover/\(integration.plan)/after-\(key.todo)")
            record(.mergeMerged, plan: integration.plan, todo: key.todo, worker: worker, data)
        } else {
            if let conflicts = result.conflicts { data["conflicts"] = .array(conflicts.map { .string($0) }) }
            if let detail = result.detail { data["detail"] = .string(String(detail.prefix(4000))) }
            record(.mergeRefused, plan: integration.plan, todo: key.todo, worker: worker, data)
        }
    }

    /// A TODO whose dependencies are all merged starts from the integration branch, which holds their work.
    func integrationBase(for todo: TodoRecord, of plan: Plan) -> String? {
        guard !todo.spec.dependsOn.isEmpty, let integration = merges[plan.id], integration.head != nil else { return nil }
        let merged = Set(integration.merged)
        return todo.spec.dependsOn.allSatisfy(merged.contains) ? plan.integrationBranch : nil
    }
}
