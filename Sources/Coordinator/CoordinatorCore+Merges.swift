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
        let original = plan.todos.first { $0.id == id }
        let title = original?.title ?? id
        let checks = plan.integrationChecks(merging: id, after: Set(integration.merged))
        // After a conflict or broken checks, the same merge again, with codex to repair it.
        let repair = integration.repairs[id].flatMap { failure in
            original.map { RepairPrompt.text(todo: $0, failure: failure, plan: plan, merged: integration.merged, checks: checks) }
        }
        return TaskSpec(
            title: todo.spec.title,
            command: nil,
            prompt: repair,
            timeoutSeconds: nil,
            checks: checks,
            budget: repair == nil ? nil : Budget(turns: 6),
            risk: original?.risk,
            permissions: repair == nil ? nil : Permissions(sandbox: "workspace-write", network: false),
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
            let repairable = result.outcome == .conflict || result.outcome == .checksFailed
            let repairing = integration.repairs[key.todo] != nil
            if repairable && !repairing {
                merges.needsRepair(key.todo, of: integration.plan, result)
                data["next"] = "a repair by codex, with what went wrong"
            }
            record(.mergeRefused, plan: integration.plan, todo: key.todo, worker: worker, data)
        }
    }

    /// Whether `key` is a merge (a TODO of a plan of merges). A merge that fails its last try ends escalated, not
    /// failed: the queue waits for an operator (`drover merge retry`, or `drover merge skip` to leave its work out).
    func isMerge(_ key: TodoKey) -> Bool { merges.integration(mergedBy: key.plan) != nil }

    /// `merge` on the control socket: leave a TODO's work out of the integration branch, or try its merge again.
    func operate(_ request: MergeRequest, now: Int64) throws(ProtocolError) -> MergeReply {
        guard let integration = merges[request.plan] else {
            throw ProtocolError(.rejected, "plan \(request.plan) has no merge queue (no such plan, or it has no repository)")
        }
        let key = TodoKey(plan: integration.mergePlan, todo: request.todo)
        guard let merge = todos[key] else {
            throw ProtocolError(.rejected, "plan \(request.plan) has no TODO \(request.todo)")
        }
        switch request.action {
        case .skip:
            let reason = request.reason ?? "left out by an operator"
            guard todos.leaveOut(key, detail: "left out of the integration: \(reason)", at: wallClockMilliseconds()) else {
                throw ProtocolError(
                    .rejected,
                    "\(request.plan)/\(request.todo) is not queued to merge (its merge is \(merge.state.rawValue)): only a merge "
                        + "that waits, or failed or escalated, can be skipped"
                )
            }
            record(.mergeSkipped, plan: request.plan, todo: request.todo, ["reason": .string(reason)])
            finishPlanIfDone(key.plan)
        default:
            _ = try operate(TodoRequest(plan: key.plan, todo: key.todo, action: .retry), now: now)
        }
        return MergeReply(plan: request.plan, todo: request.todo, state: todos[key]?.state ?? merge.state)
    }

    /// A TODO whose dependencies are all merged starts from the integration branch, which holds their work.
    func integrationBase(for todo: TodoRecord, of plan: Plan) -> String? {
        guard !todo.spec.dependsOn.isEmpty, let integration = merges[plan.id], integration.head != nil else { return nil }
        let merged = Set(integration.merged)
        return todo.spec.dependsOn.allSatisfy(merged.contains) ? plan.integrationBranch : nil
    }
}
