import DroverProtocol
import Foundation

/// The job lifecycle's decisions, as pure functions of what the steps answered and what the operator said. The
/// core (`CoordinatorCore+Jobs.swift`) carries them out.
enum JobDecisions {
    /// Where a job goes after its goal was classified, and why.
    static func next(after classification: Classification) -> (state: JobState, reason: String) {
        if classification.kind == .question { return (.done, "a question: answered") }
        if classification.needsInvestigation || classification.kind == .multiFileChange {
            return (
                .investigate, "a \(words(classification.kind)) of \(classification.complexity) complexity: the repository is read first"
            )
        }
        return (.plan, "a \(words(classification.kind)) of \(classification.complexity) complexity that needs no investigation")
    }

    private static func words(_ kind: Classification.Kind) -> String { kind.rawValue.replacingOccurrences(of: "_", with: " ") }

    /// What the permission negotiation comes to before anyone is asked.
    enum Negotiation: Equatable {
        /// The plan needs nothing beyond the defaults.
        case noneNeeded
        /// Every grant it needs was decided before, for this repository.
        case remembered(PermissionDecision)
        /// The operator must be asked about `ask`; `remembered` are decided already.
        case ask([PermissionGrant], remembered: [String: Decision])
    }

    static func negotiate(_ grants: [PermissionGrant], remembered: (String) -> Decision?) -> Negotiation {
        guard !grants.isEmpty else { return .noneNeeded }
        var known: [String: Decision] = [:]
        for grant in grants { known[grant.id] = remembered(grant.id) }
        let open = grants.filter { known[$0.id] == nil }
        guard open.isEmpty else { return .ask(open, remembered: known) }
        return .remembered(
            PermissionDecision(
                granted: grants.map(\.id).filter { known[$0] == .approve },
                refused: grants.map(\.id).filter { known[$0] != .approve },
                decidedBy: "policy"
            )
        )
    }

    /// The operator's answer to a job's permissions item, merged with what was remembered. Grants the item does
    /// not ask about are refused with their names.
    static func decision(
        _ answer: AnswerBody,
        asked: [PermissionGrant],
        remembered: [String: Decision]
    ) throws(ProtocolError) -> PermissionDecision {
        let askedIDs = asked.map(\.id)
        switch answer.decision {
        case .approve, .deny:
            break
        default:
            throw ProtocolError(
                .rejected,
                "a permissions item is answered with approve (all, or --grant for some) or deny, not \(answer.decision)"
            )
        }
        let approved = answer.decision == .deny ? [] : answer.grants ?? askedIDs
        let unknown = approved.filter { !askedIDs.contains($0) }
        guard unknown.isEmpty else {
            throw ProtocolError(
                .rejected,
                "\(answer.item) does not ask for \(unknown.joined(separator: ", ")); it asks for: \(askedIDs.joined(separator: ", "))"
            )
        }
        let alreadyGranted = remembered.filter { $0.value == .approve }.keys
        let granted = (askedIDs.filter { approved.contains($0) } + alreadyGranted).sorted()
        let refused = (askedIDs.filter { !approved.contains($0) } + remembered.filter { $0.value != .approve }.keys).sorted()
        return PermissionDecision(
            granted: granted,
            refused: refused,
            replan: answer.replan ?? false,
            remember: answer.remember ?? false,
            decidedBy: "operator"
        )
    }

    /// The TODOs a decision skips: those that need a refused grant, and every TODO that depends on one of them.
    static func skipped(in plan: Plan, by decision: PermissionDecision) -> [String] {
        var skipped = Set(decision.refusedTodos(in: plan))
        var grew = true
        while grew {
            grew = false
            for todo in plan.todos where !skipped.contains(todo.id) && todo.dependsOn.contains(where: skipped.contains) {
                skipped.insert(todo.id)
                grew = true
            }
        }
        return plan.todos.map(\.id).filter(skipped.contains)
    }

    /// How a job ends when its plan ends.
    enum Ending: Equatable {
        case done(String)
        /// TODOs wait for an operator (escalated): the job waits with them.
        case waiting(String)
        case failed(String)
    }

    static func ending(states: [String: TodoState], skippedByPermissions: Set<String>) -> Ending {
        let counted = states.filter { !skippedByPermissions.contains($0.key) }
        let done = counted.values.count { $0 == .done }
        let skippedNote = skippedByPermissions.isEmpty ? "" : "; \(skippedByPermissions.count) skipped for refused permissions"
        if done == counted.count { return .done("all \(done) TODOs done\(skippedNote)") }
        let escalated = counted.filter { $0.value == .escalated }.keys.sorted()
        if !escalated.isEmpty {
            return .waiting(
                "\(escalated.count) TODO(s) wait for an operator (\(escalated.joined(separator: ", "))): "
                    + "`drover todo retry` takes one up again"
            )
        }
        let unfinished = counted.filter { $0.value != .done }.map { "\($0.key) \($0.value.rawValue)" }.sorted()
        return .failed("\(done) of \(counted.count) TODOs done; \(unfinished.joined(separator: ", "))")
    }
}
