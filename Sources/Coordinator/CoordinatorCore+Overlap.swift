import DroverProtocol

/// Conflict-aware scheduling: a TODO that may touch the files of a TODO of its plan that runs now waits for it,
/// unless the plan says otherwise (`schedule: { overlap: warn | ignore }`). The files are the TODOs' declared `files`
/// (globs) and those their earlier runs changed. The cluster is not left idle for it: the TODO it waits for runs.
extension CoordinatorCore {
    /// Whether `todo` must wait now; says why once, as an event and in its status.
    func holdForOverlap(_ todo: TodoRecord) -> Bool {
        // Most TODOs name no files and have changed none: nothing to compare, and no plan lookup on the hot path.
        let files = todo.spec.filesTouched(todo.facts)
        guard !files.isEmpty, let plan = todos.plans[todo.key.plan]?.plan else { return false }
        let mode = plan.schedule?.overlap ?? .serialize
        guard mode != .ignore else { return false }
        for other in plan.todos where other.id != todo.key.todo {
            guard let running = todos[TodoKey(plan: plan.id, todo: other.id)], running.state.holdsLease else { continue }
            let shared = FileGlob.overlapping(files, other.filesTouched(running.facts))
            guard !shared.isEmpty else { continue }
            let said = overlapHolds[todo.key] == running.key
            overlapHolds[todo.key] = running.key
            let data: [String: JSONValue] = ["with": .string(other.id), "files": .array(shared.map { .string($0) })]
            if mode == .warn {
                if !said { record(.todoOverlaps, plan: plan.id, todo: todo.key.todo, data) }
                return false
            }
            if !said {
                record(.todoHeld, plan: plan.id, todo: todo.key.todo, data)
                todos.explain(todo.key, "waits for \(other.id), which may touch the same files (\(shared.joined(separator: ", ")))")
            }
            return true
        }
        overlapHolds[todo.key] = nil
        return false
    }
}

extension Todo {
    /// The files a TODO may touch: those it declares, and those its earlier runs changed.
    func filesTouched(_ facts: WorkFacts) -> [String] { (files ?? []) + facts.files }
}
