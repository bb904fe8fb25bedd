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
        // A rebase step merges the base (the default branch when the plan names none); it is none of the plan's TODOs.
        let rebase = plan.todos.first { $0.id == id } == nil
        let original =
            plan.todos.first { $0.id == id }
            ?? Todo(id: id, title: "the base", prompt: "Bring the integration branch up to date with the base, which moved.")
        let title = original.title
        let checks = plan.integrationChecks(merging: id, after: Set(integration.merged))
        // After a conflict or broken checks, the same merge again, with codex to repair it.
        let repair = integration.repairs[id].map { failure in
            RepairPrompt.text(todo: original, failure: failure, plan: plan, merged: integration.merged, checks: checks)
        }
        return TaskSpec(
            title: todo.spec.title,
            command: nil,
            prompt: repair,
            timeoutSeconds: nil,
            checks: checks,
            budget: repair == nil ? nil : Budget(turns: 6),
            risk: original.risk,
            permissions: repair == nil ? nil : Permissions(sandbox: "workspace-write", network: false),
            repository: plan.repository,
            merge: MergeSpec(
                todo: id,
                title: title,
                branch: rebase ? (plan.base ?? "HEAD") : plan.branch(of: id),
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
        guard let todo = request.todo else { return try queueRebase(integration) }
        let key = TodoKey(plan: integration.mergePlan, todo: todo)
        guard let merge = todos[key] else {
            throw ProtocolError(.rejected, "plan \(request.plan) has no TODO \(todo)")
        }
        switch request.action {
        case .skip:
            let reason = request.reason ?? "left out by an operator"
            guard todos.leaveOut(key, detail: "left out of the integration: \(reason)", at: wallClockMilliseconds()) else {
                throw ProtocolError(
                    .rejected,
                    "\(request.plan)/\(todo) is not queued to merge (its merge is \(merge.state.rawValue)): only a merge "
                        + "that waits, or failed or escalated, can be skipped"
                )
            }
            settleMergeItem(key, because: "its merge was left out: \(reason)")
            record(.mergeSkipped, plan: request.plan, todo: todo, ["reason": .string(reason)])
            finishPlanIfDone(key.plan)
        default:
            _ = try operate(TodoRequest(plan: key.plan, todo: key.todo, action: .retry), now: now)
        }
        return MergeReply(plan: request.plan, todo: todo, state: todos[key]?.state ?? merge.state)
    }

    /// `merge rebase`: one more step in the plan's queue, `rebase-<n>`, that merges the base (which moved) into the
    /// integration branch, checked, repaired by codex on a conflict, and tagged as any merge.
    private func queueRebase(_ integration: MergeQueue.Integration) throws(ProtocolError) -> MergeReply {
        guard integration.head != nil, let mergePlan = todos.plans[integration.mergePlan]?.plan,
            let plan = todos.plans[integration.plan]?.plan
        else {
            throw ProtocolError(
                .rejected,
                "nothing of plan \(integration.plan) is merged yet: its first merge starts from the base as it is then"
            )
        }
        // The steps added so far are the merge plan's TODOs beyond one per TODO of the plan.
        var number = mergePlan.todos.count - plan.todos.count + 1
        while mergePlan.todos.contains(where: { $0.id == "rebase-\(number)" }) { number += 1 }
        let id = "rebase-\(number)"
        let step = Todo(id: id, title: "Bring the integration branch up to date with its base", maxAttempts: 2)
        let codec = self.codec
        let readied = todos.append(step, to: mergePlan.id) { String(decoding: codec.json(SubmitBody(plan: $0)), as: UTF8.self) }
        record(.mergeRebaseQueued, plan: integration.plan, todo: id)
        if readied { record(.todoReady, plan: mergePlan.id, todo: id) }
        return MergeReply(plan: integration.plan, todo: id, state: todos[TodoKey(plan: mergePlan.id, todo: id)]?.state ?? .pending)
    }

    /// A TODO whose dependencies are all merged starts from the integration branch, which holds their work.
    func integrationBase(for todo: TodoRecord, of plan: Plan) -> String? {
        guard !todo.spec.dependsOn.isEmpty, let integration = merges[plan.id], integration.head != nil else { return nil }
        let merged = Set(integration.merged)
        return todo.spec.dependsOn.allSatisfy(merged.contains) ? plan.integrationBranch : nil
    }
}
