import DroverProtocol

/// The prompt of a merge repaired by codex: what went wrong (the conflicting files and their hunks, or the checks'
/// failing output), what this TODO was asked to do, what the work already merged was asked to do, and what must
/// hold after. Its first line is ``marker``.
enum RepairPrompt {
    static let marker = "Drover merge repair"

    /// How much of each TODO's own prompt is quoted.
    static let quoted = 600

    static func text(todo: Todo, failure: MergeResult, plan: Plan, merged: [String], checks: [Check]) -> String {
        var parts = [
            "\(marker): \(todo.id)",
            "The work of TODO \"\(todo.id)\" (\(todo.title)), on branch \(plan.branch(of: todo.id)), is being merged into "
                + "\(plan.integrationBranch)"
                + (merged.isEmpty ? ", which holds only the base so far." : ", which already holds: \(merged.joined(separator: ", ")).")
                + " The merge is in progress in the current directory.",
        ]
        switch failure.outcome {
        case .conflict:
            let files = failure.conflicts ?? []
            parts.append(
                "The merge conflicts in \(files.isEmpty ? "some files" : files.joined(separator: ", ")). The conflict markers are in "
                    + "those files:\n\n" + (failure.detail ?? "(no hunks were sent)")
            )
        default:
            parts.append("The merge went in cleanly, but the integration checks fail:\n\n" + (failure.detail ?? "(no output was sent)"))
        }
        parts.append("What \(todo.id) was asked to do:\n" + describe(todo))
        let others = plan.todos.filter { merged.contains($0.id) }
        if !others.isEmpty {
            parts.append(
                "What the work already merged was asked to do:\n" + others.map { "- \($0.id): " + describe($0) }.joined(separator: "\n")
            )
        }
        parts.append(
            "Resolve it so that the work of both sides is kept: edit the files, leave no conflict markers, and make these checks "
                + "pass: " + (checks.isEmpty ? "(none besides no conflict markers)" : checks.map(\.description).joined(separator: "; "))
                + ". Do not commit: Drover commits the merge once the checks pass."
        )
        return parts.joined(separator: "\n\n")
    }

    private static func describe(_ todo: Todo) -> String {
        let text = todo.prompt ?? todo.command.map { "run `\($0)`" } ?? todo.title
        return text.count > quoted ? String(text.prefix(quoted)) + " …" : text
    }
}
