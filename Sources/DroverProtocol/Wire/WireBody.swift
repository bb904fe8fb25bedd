/// A message body that checks its own fields after decoding. Decoding proves the shape; this proves the values.
public protocol WireBody: Codable, Sendable {
    /// Throws ``ProtocolError`` with code `bad_field`, naming the field and what is wrong with it.
    func validate() throws(ProtocolError)
    /// The largest body frame of this kind that is decoded; larger ones get `too_large`.
    static var maxBytes: Int { get }
}

extension WireBody {
    public static var maxBytes: Int { WireLimits.bodyBytes }
}

/// Limits on what one message may carry.
public enum WireLimits {
    /// The header frame.
    public static let headerBytes = 1024
    /// The body frame. Larger frames (up to the socket's `ZMQ_MAXMSGSIZE`) get a `too_large` error reply; larger
    /// still, libzmq drops the connection.
    public static let bodyBytes = 1 << 20
    /// Plans and status replies on the control socket, which grow with the number of TODOs.
    public static let documentBytes = 64 << 20
    /// Free text inside a body (summaries, output).
    public static let textBytes = 256 << 10
    /// Lists (labels, leases, events).
    public static let listCount = 4096
    /// Changed files in a report: enough to see which branches overlap.
    public static let maxFiles = 1000
}

func require(_ condition: Bool, _ field: String, _ problem: String) throws(ProtocolError) {
    if !condition { throw ProtocolError(.badField, "field '\(field)' \(problem)") }
}

func requireID(_ id: String, _ field: String) throws(ProtocolError) {
    if let problem = Identifier.problem(with: id) { throw ProtocolError(.badField, "field '\(field)' \(problem)") }
}

func requireText(_ text: String?, _ field: String, max: Int = WireLimits.textBytes) throws(ProtocolError) {
    guard let text else { return }
    try require(text.utf8.count <= max, field, "is longer than \(max) bytes")
}

/// A codex thread id: 1 to 100 letters, digits, `-` and `_` (a UUID in practice); it names a file on the worker.
func requireThreadID(_ id: String, _ field: String) throws(ProtocolError) {
    let allowed = id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    try require(!id.isEmpty && id.utf8.count <= 100 && allowed, field, "must be 1 to 100 letters, digits, '-' or '_' (a codex thread id)")
}

func requireLeaseID(_ id: String, _ field: String) throws(ProtocolError) {
    try require(!id.isEmpty && id.utf8.count <= 200, field, "must be 1 to 200 bytes")
}

extension LeaseRef {
    func validate(_ path: String) throws(ProtocolError) {
        try requireLeaseID(leaseId, "\(path).lease_id")
        try requireID(plan, "\(path).plan")
        try requireID(todo, "\(path).todo")
        try require(epoch >= 1, "\(path).epoch", "must be 1 or more")
    }
}

extension RegisterBody: WireBody {
    public func validate() throws(ProtocolError) {
        try requireID(worker, "worker")
        try requireText(host, "host", max: 255)
        try require((1...1024).contains(slots), "slots", "must be between 1 and 1024")
        try require(labels.count <= 64, "labels", "has more than 64 entries")
        for (index, label) in labels.enumerated() { try requireID(label, "labels[\(index)]") }
        try require(holding.count <= WireLimits.listCount, "holding", "is too long")
        for (index, lease) in holding.enumerated() { try lease.validate("holding[\(index)]") }
    }
}

extension WelcomeBody: WireBody {
    public func validate() throws(ProtocolError) {
        try require(heartbeatMs > 0 && leaseTtlMs > 0, "heartbeat_ms", "and lease_ttl_ms must be positive")
    }
}

extension HeartbeatBody: WireBody {
    public func validate() throws(ProtocolError) {
        try require((leases?.count ?? 0) <= WireLimits.listCount, "leases", "is too long")
        for (index, lease) in (leases ?? []).enumerated() { try requireLeaseID(lease, "leases[\(index)]") }
    }
}

extension AssignBody: WireBody {
    public func validate() throws(ProtocolError) {
        try lease.validate("lease")
        try require(ttlMs > 0, "ttl_ms", "must be positive")
        if let output = task.output {
            try require((1...10).contains(output.attempts), "task.output.attempts", "must be between 1 and 10")
        }
        try require((task.dependencies?.count ?? 0) <= WireLimits.listCount, "task.dependencies", "is too long")
        for (index, dependency) in (task.dependencies ?? []).enumerated() {
            try requireID(dependency.todo, "task.dependencies[\(index)].todo")
            try require(GitRef.isValidBranch(dependency.branch), "task.dependencies[\(index)].branch", "is not a valid branch name")
            try requireText(dependency.summary, "task.dependencies[\(index)].summary", max: 4096)
        }
        try requireText(task.handover, "task.handover", max: 16384)
        try requireText(task.model, "task.model", max: 200)
        if let thread = task.resumeThread { try requireThreadID(thread, "task.resume_thread") }
        if let url = task.modelBaseURL {
            try require(url.hasPrefix("http://") || url.hasPrefix("https://"), "task.model_base_url", "must be an http or https URL")
            try requireText(url, "task.model_base_url", max: 2048)
        }
        if let merge = task.merge {
            for (field, branch) in [
                ("branch", merge.branch), ("integration", merge.integration), ("tag", merge.tag), ("base_tag", merge.baseTag),
            ] {
                try require(GitRef.isValidBranch(branch), "task.merge.\(field)", "is not a valid ref name")
            }
            if let base = merge.base { try require(GitRef.isValidBranch(base), "task.merge.base", "is not a valid branch name") }
        }
    }
}

extension LeaseAnswerBody: WireBody {
    public func validate() throws(ProtocolError) {
        try requireLeaseID(leaseId, "lease_id")
        try require(epoch >= 1, "epoch", "must be 1 or more")
        try requireText(reason, "reason", max: 4096)
    }
}

extension ProgressBody: WireBody {
    public func validate() throws(ProtocolError) {
        try requireLeaseID(leaseId, "lease_id")
        try require(epoch >= 1, "epoch", "must be 1 or more")
        try require(events.count <= WireLimits.listCount, "events", "is too long")
        for (index, event) in events.enumerated() {
            try require(
                !event.kind.rawValue.isEmpty && event.kind.rawValue.utf8.count <= 64,
                "events[\(index)].kind",
                "must be 1 to 64 bytes"
            )
            try requireText(event.text, "events[\(index)].text")
            try requireText(event.detection?.rawValue, "events[\(index)].detection", max: 64)
            if let thread = event.thread { try requireThreadID(thread, "events[\(index)].thread") }
            if let files = event.files {
                try require(files.count <= WireLimits.listCount, "events[\(index)].files", "is too long")
                for (number, file) in files.enumerated() { try requireText(file, "events[\(index)].files[\(number)]", max: 4096) }
            }
            if let usage = event.usage {
                try require(
                    usage.input >= 0 && usage.cachedInput >= 0 && usage.output >= 0,
                    "events[\(index)].usage",
                    "must not count anything negative"
                )
            }
            try requireText(event.model, "events[\(index)].model", max: 255)
        }
    }
}

extension ReportBody: WireBody {
    public func validate() throws(ProtocolError) {
        try requireLeaseID(leaseId, "lease_id")
        try require(epoch >= 1, "epoch", "must be 1 or more")
        try requireText(summary, "summary")
        try requireText(outputTail, "output_tail")
        try require(durationMs >= 0, "duration_ms", "must not be negative")
        try require(checks.count <= 256, "checks", "has more than 256 entries")
        try require((tokens ?? 0) >= 0, "tokens", "must not be negative")
        if let files {
            try require(files.count <= WireLimits.maxFiles, "files", "has more than \(WireLimits.maxFiles) entries")
            for file in files { try requireText(file, "files", max: 4096) }
        }
        if let usage {
            try require(usage.input >= 0 && usage.cachedInput >= 0 && usage.output >= 0, "usage", "must not count anything negative")
        }
        if let diffStat {
            try require(
                diffStat.files >= 0 && diffStat.insertions >= 0 && diffStat.deletions >= 0,
                "diff_stat",
                "must not count anything negative"
            )
        }
        try requireText(output, "output")
        try requireText(model, "model", max: 200)
        try require((merge?.conflicts?.count ?? 0) <= WireLimits.maxFiles, "merge.conflicts", "is too long")
        try requireText(merge?.detail, "merge.detail")
        try require((outcome == .parked) == (resumeAt != nil), "resume_at", "is given with outcome parked, and only then")
        try require((resumeAt ?? 1) > 0, "resume_at", "must be epoch milliseconds, above 0")
        if let threadId { try requireThreadID(threadId, "thread_id") }
    }
}

extension AckBody: WireBody {
    public func validate() throws(ProtocolError) {
        try require(!ref.isEmpty && ref.utf8.count <= 200, "ref", "must be 1 to 200 bytes")
    }
}

extension ControlBody: WireBody {
    public func validate() throws(ProtocolError) {
        try require(
            [ControlAction.cancel, .abort, .answer, .steer, .pause].contains(action),
            "action",
            "must be cancel, abort, answer, steer or pause"
        )
        try requireLeaseID(leaseId, "lease_id")
        if action == .steer {
            try require(!(text ?? "").isEmpty, "text", "must hold the operator's guidance")
            try requireText(text, "text", max: TodoRequest.maxSteerBytes)
        }
    }
}

extension ByeBody: WireBody {
    public func validate() throws(ProtocolError) { try requireText(reason, "reason", max: 4096) }
}

extension ErrorBody: WireBody {
    public func validate() throws(ProtocolError) { try requireText(message, "message", max: 65536) }
}

/// The body of requests that carry nothing (`status`).
public struct EmptyBody: WireBody, Equatable {
    public init() {}
    public func validate() throws(ProtocolError) {}
}

extension SubmitBody: WireBody {
    public static var maxBytes: Int { WireLimits.documentBytes }

    public func validate() throws(ProtocolError) {
        let problems = PlanValidator.problems(in: plan)
        if !problems.isEmpty {
            throw ProtocolError(.rejected, "the plan is not valid: " + problems.map(\.description).joined(separator: "; "))
        }
    }
}
