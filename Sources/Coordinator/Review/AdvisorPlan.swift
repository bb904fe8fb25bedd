import DroverProtocol
import Foundation

/// The plan that runs a plan's advisors: `<plan>-help`, one read-only codex TODO per piece of advice (`advice-<n>`),
/// each answering with ``Advice`` (`TaskSpec.output`, step `advise`). Scheduled, leased, supervised and recovered as
/// any TODO; it gets no report, no merge queue, and is no job. A plan with a repository has an id of at most 58
/// characters, so `-help` fits.
enum AdvisorPlan {
    static func id(of plan: String) -> String { "\(plan)-help" }

    static func todoID(_ number: Int) -> String { "advice-\(number)" }

    /// The line every advisor prompt begins with (the scripted model in tests matches on it).
    static let marker = "Drover advisor: a stuck TODO"

    static let timeoutSeconds: Double = 900
    static let turns = 6

    /// What the advisor is told of the TODO.
    struct Case: Sendable {
        var plan: String
        var todo: Todo
        var detection: Detection
        /// The session's own account of what went wrong (the failing output, the loop, the question).
        var evidence: String
        var recoveries: [String: Int]
        /// The tail of the transcript: what the sessions did, oldest first.
        var transcript: [String]
        /// The TODO's branch, when its work so far was checkpointed: the advisor's worktree starts at it.
        var branch: String?
    }

    static func todo(_ number: Int, for stuck: Case, policy: AdvisorPolicy) -> Todo {
        Todo(
            id: todoID(number),
            title: "Advise \(stuck.plan)/\(stuck.todo.id) (\(stuck.detection.rawValue))",
            prompt: prompt(stuck),
            risk: .low,
            budget: Budget(turns: turns, tokens: policy.tokens),
            timeoutSeconds: timeoutSeconds,
            maxAttempts: 1,
            permissions: Permissions(sandbox: "read-only", network: false)
        )
    }

    static func prompt(_ stuck: Case) -> String {
        var parts = [
            marker,
            "You advise Drover, which runs coding agents until their TODOs' checks pass. The agent working on the TODO "
                + "below is stuck, and Drover's rules have run out. Read what it was asked, what it did, and what is going "
                + "wrong; look at the files (read-only: change nothing), then say what it should do next.",
            "The TODO \(stuck.todo.id): \(stuck.todo.title)\n\(stuck.todo.prompt ?? stuck.todo.command ?? "")",
        ]
        if !stuck.todo.checks.isEmpty {
            parts.append("Its acceptance checks:\n" + stuck.todo.checks.map { "- \($0.description)" }.joined(separator: "\n"))
        }
        parts.append("What is going wrong now (\(stuck.detection.rawValue)):\n\(stuck.evidence.prefix(6000))")
        if !stuck.recoveries.isEmpty {
            parts.append(
                "Recoveries already tried: "
                    + stuck.recoveries.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            )
        }
        if !stuck.transcript.isEmpty {
            parts.append("The tail of its transcript, oldest first:\n" + stuck.transcript.joined(separator: "\n"))
        }
        if let branch = stuck.branch {
            parts.append(
                "The current directory holds its work so far (branch \(branch) at its last checkpoint): "
                    + "`git log -p --first-parent` shows its commits."
            )
        }
        parts.append(
            """
            Answer with only the JSON object the output schema asks for: `diagnosis` (what is going wrong, in a few \
            sentences), `next_instruction` (what the agent should do next, written to the agent, concrete: files, commands, \
            approach), `needs_human` (true only when no agent can go on without a person: credentials, access, a decision \
            the task leaves open), `question_for_human` (the question, when needs_human; else ""), `reason` (why this advice).
            """
        )
        return parts.joined(separator: "\n\n")
    }

    /// A transcript line for each agent event that says what a session did.
    static func transcript(_ events: [Event], limit: Int = 40) -> [String] {
        events.filter { $0.type.rawValue.hasPrefix("agent.") }.suffix(limit).compactMap { event in
            guard let text = event.data["text"]?.stringValue, !text.isEmpty else { return nil }
            let kind = event.type.rawValue.dropFirst("agent.".count)
            return "- \(kind): " + String(text.prefix(400)).replacingOccurrences(of: "\n", with: " ⏎ ")
        }
    }
}
