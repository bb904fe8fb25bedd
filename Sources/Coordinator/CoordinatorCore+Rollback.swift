import DroverProtocol

/// Rollback: an operator moves a plan's integration branch back to one of its tags. `drover rollback` does the git
/// work itself; the coordinator (or ``StateDirectory`` on its state, when none runs) checks the request first (the
/// tag is the plan's, no merge is under way, where it left the branch) and records it after: the TODOs merged after
/// the tag are no longer integrated (their merges are skipped, and `drover merge retry` queues them again), and
/// `merge.rolled_back` says who did it and why.
extension CoordinatorCore {
    func operate(_ request: RollbackRequest) throws(ProtocolError) -> RollbackReply {
        guard let plan = todos.plans[request.plan]?.plan else { throw ProtocolError(.rejected, "there is no plan \(request.plan) here") }
        guard let integration = merges[plan.id], let repository = plan.repository else {
            throw ProtocolError(.rejected, "plan \(plan.id) has no integration branch: it names no repository")
        }
        let base = "drover/\(plan.id)/base"
        let tag = request.tag ?? base
        let kept: [String]
        if tag == base {
            kept = []
        } else if tag.hasPrefix("drover/\(plan.id)/after-"),
            let index = integration.merged.firstIndex(of: String(tag.dropFirst("drover/\(plan.id)/after-".count)))
        {
            kept = Array(integration.merged[...index])
        } else {
            let tags = [base] + integration.merged.map { "drover/\(plan.id)/after-\($0)" }
            throw ProtocolError(.rejected, "\(tag) is not a tag of plan \(plan.id): its tags are \(tags.joined(separator: ", "))")
        }
        if let mergePlan = todos.plans[integration.mergePlan]?.plan,
            let busy = mergePlan.todos.first(where: { todos[TodoKey(plan: integration.mergePlan, todo: $0.id)]?.state.holdsLease ?? false })
        {
            throw ProtocolError(
                .rejected,
                "the merge of \(busy.id) is under way: wait for it (or `drover plan pause \(integration.mergePlan)`), then roll back"
            )
        }
        let undone = integration.merged.filter { !kept.contains($0) }
        let reply = RollbackReply(
            plan: plan.id,
            repository: repository,
            branch: plan.integrationBranch,
            tag: tag,
            expect: integration.head,
            undone: undone
        )
        guard request.step == .record, let head = request.head else { return reply }
        merges.rolledBack(plan.id, keeping: kept, head: head)
        let reason = request.reason ?? "rolled back by an operator"
        for todo in undone {
            todos.unmerge(TodoKey(plan: integration.mergePlan, todo: todo), detail: "rolled back to \(tag): \(reason)")
        }
        record(
            .mergeRolledBack,
            plan: plan.id,
            [
                "tag": .string(tag), "head": .string(head), "undone": .array(undone.map { .string($0) }), "reason": .string(reason),
                "by": .string(request.by ?? "an operator"),
            ]
        )
        return reply
    }
}
