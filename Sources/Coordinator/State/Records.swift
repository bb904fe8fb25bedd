import DroverProtocol

/// A TODO's key: ids are unique within their plan.
struct TodoKey: Hashable, Codable, Sendable, CustomStringConvertible {
    var plan: String
    var todo: String
    var description: String { "\(plan)/\(todo)" }
}

/// What the review needs to know about a TODO's work. Persisted as JSON in `todos.facts`.
struct WorkFacts: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case startedAt = "started_at", finishedAt = "finished_at", durationMs = "duration_ms", files, tokens, checks,
            diffStat = "diff_stat", usage, costUSD = "cost_usd", resumeAt = "resume_at", thread, runLease = "run_lease",
            runUsage = "run_usage", costCap = "cost_cap"
    }
    /// Wall-clock milliseconds when its latest run began (the worker accepted it).
    var startedAt: Int64?
    /// Wall-clock milliseconds when it reached a final state.
    var finishedAt: Int64?
    /// How long the run that finished it took, as its worker measured.
    var durationMs: Int64?
    /// The files its branch changed, from the latest report that said.
    var files: [String] = []
    /// Model tokens over all its runs.
    var tokens: Int64 = 0
    /// Its acceptance checks' results, from the latest report that ran them (details cut short).
    var checks: [CheckResult] = []
    /// How much its branch changed, from the latest report that said.
    var diffStat: DiffStat?
    /// While it is `waiting` (parked by a usage limit): when it resumes, wall-clock milliseconds.
    var resumeAt: Int64?
    /// Model tokens over all its runs, split as prices are (from reports that said).
    var usage: TokenUsage?
    /// What those tokens cost, in US dollars, by the coordinator's price table (nil: no price known).
    var costUSD: Double?
    /// The codex thread its latest session stored beside its checkpoint (at a checkpoint, or as it was paused or
    /// parked): its next session resumes it (``TaskSpec/resumeThread``).
    var thread: String?
    /// The lease whose session's tokens were counted live (`usage` events), and how many: its report adds only what
    /// is beyond them. A lease that ends with no report (its worker lost) leaves them counted.
    var runLease: String?
    var runUsage: TokenUsage?
    /// Its cost cap as an operator raised it (the plan's `budget.cost` otherwise).
    var costCap: Double?

    init(startedAt: Int64? = nil, finishedAt: Int64? = nil, durationMs: Int64? = nil, files: [String] = [], tokens: Int64 = 0) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationMs = durationMs
        self.files = files
        self.tokens = tokens
    }

    /// Every field may be missing: the JSON leaves out what is empty.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        startedAt = try container.decodeIfPresent(Int64.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(Int64.self, forKey: .finishedAt)
        durationMs = try container.decodeIfPresent(Int64.self, forKey: .durationMs)
        files = try container.decodeIfPresent([String].self, forKey: .files) ?? []
        tokens = try container.decodeIfPresent(Int64.self, forKey: .tokens) ?? 0
        checks = try container.decodeIfPresent([CheckResult].self, forKey: .checks) ?? []
        diffStat = try container.decodeIfPresent(DiffStat.self, forKey: .diffStat)
        resumeAt = try container.decodeIfPresent(Int64.self, forKey: .resumeAt)
        usage = try container.decodeIfPresent(TokenUsage.self, forKey: .usage)
        costUSD = try container.decodeIfPresent(Double.self, forKey: .costUSD)
        thread = try container.decodeIfPresent(String.self, forKey: .thread)
        runLease = try container.decodeIfPresent(String.self, forKey: .runLease)
        runUsage = try container.decodeIfPresent(TokenUsage.self, forKey: .runUsage)
        costCap = try container.decodeIfPresent(Double.self, forKey: .costCap)
    }

    /// The JSON stored in `todos.facts`, written by hand: a TODO's row is written several times in its life, on the
    /// hot path, where `JSONEncoder` costs a third of the throughput.
    var json: String {
        var text = "{"
        for (key, value) in [("started_at", startedAt), ("finished_at", finishedAt), ("duration_ms", durationMs), ("resume_at", resumeAt)] {
            guard let value else { continue }
            text += (text.count > 1 ? "," : "") + "\"\(key)\":\(value)"
        }
        if tokens != 0 { text += (text.count > 1 ? "," : "") + "\"tokens\":\(tokens)" }
        if !files.isEmpty {
            text += (text.count > 1 ? "," : "") + "\"files\":"
            JSONValue.array(files.map { .string($0) }).appendJSON(to: &text)
        }
        if !checks.isEmpty {
            text += (text.count > 1 ? "," : "") + "\"checks\":"
            let results = checks.map { check -> JSONValue in
                .object(["check": .string(check.check), "passed": .bool(check.passed), "detail": .string(check.detail)])
            }
            JSONValue.array(results).appendJSON(to: &text)
        }
        if let diffStat {
            text += (text.count > 1 ? "," : "") + "\"diff_stat\":"
            let stat: [String: JSONValue] = [
                "files": .int(Int64(diffStat.files)), "insertions": .int(Int64(diffStat.insertions)),
                "deletions": .int(Int64(diffStat.deletions)),
            ]
            JSONValue.object(stat).appendJSON(to: &text)
        }
        for (key, value) in [("usage", usage), ("run_usage", runUsage)] {
            guard let value else { continue }
            text += (text.count > 1 ? "," : "") + "\"\(key)\":"
            let split: [String: JSONValue] = [
                "input": .int(value.input), "cached_input": .int(value.cachedInput), "output": .int(value.output),
            ]
            JSONValue.object(split).appendJSON(to: &text)
        }
        if let runLease {
            text += (text.count > 1 ? "," : "") + "\"run_lease\":"
            JSONValue.string(runLease).appendJSON(to: &text)
        }
        if let costUSD { text += (text.count > 1 ? "," : "") + "\"cost_usd\":\(costUSD)" }
        if let thread {
            text += (text.count > 1 ? "," : "") + "\"thread\":"
            JSONValue.string(thread).appendJSON(to: &text)
        }
        if let costCap { text += (text.count > 1 ? "," : "") + "\"cost_cap\":\(costCap)" }
        return text + "}"
    }
}

/// A plan and its progress. Persisted in `plans`.
struct PlanRecord: Sendable {
    typealias State = PlanState
    var plan: Plan
    var state: State
    var order: Int
    var submittedAt: Int64
    var finishedAt: Int64?
    /// TODOs not yet in a terminal state; derived, not persisted.
    var open = 0
    /// Paused by an operator: none of its TODOs is assigned until it is resumed.
    var paused = false
    /// Its cost cap as an operator raised it (`--plan-cost-cap` otherwise).
    var costCap: Double?
}

/// A connected worker. Kept in memory only: a restarted coordinator learns its workers again from `register`.
struct WorkerRecord: Sendable {
    var id: String
    var host: String
    var slots: Int
    var labels: Set<String>
    var draining: Bool
    /// Monotonic milliseconds of the last message from it.
    var lastSeen: Int64
    /// Leases it holds.
    var leases: Set<String> = []
    /// After a rejection, not offered work again before this (monotonic ms).
    var restUntil: Int64 = 0
    /// TODOs it rejected, not offered to it again before the time given (monotonic ms).
    var rejected: [TodoKey: Int64] = [:]

    var freeSlots: Int { draining ? 0 : max(0, slots - leases.count) }
}
