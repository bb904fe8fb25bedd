import Foundation

/// The two bodies every TODO takes on its way through the cluster, `assign` and `report`, read and written by hand in
/// their plain form (see ``PlainJSON``); anything else goes through Foundation's coders, with the same results.
extension PlainJSON {
    // MARK: - assign

    private static let assignKeys: [StaticString] = ["lease", "ttl_ms", "task"]

    /// An `assign` body whose task has no checks, budget or permissions, and a whole number of seconds if any.
    static func assign(_ frame: Data) -> AssignBody? {
        frame.withUnsafeBytes { raw -> AssignBody? in
            var scanner = PlainJSONScanner(raw)
            var lease: LeaseRef?
            var ttl: Int64?
            var task: TaskSpec?
            let read = scanner.object { scanner, key, keys in
                switch scanner.index(of: key, in: assignKeys) {
                case 0:
                    guard keys.first(0), let value = scanner.leaseRef() else { return false }
                    lease = value
                case 1:
                    guard keys.first(1), let value = scanner.signed() else { return false }
                    ttl = value
                case 2:
                    guard keys.first(2), let value = scanner.taskSpec() else { return false }
                    task = value
                default: return false
                }
                return true
            }
            guard read, scanner.atEnd, let lease, let ttl, let task else { return nil }
            return AssignBody(lease: lease, ttlMs: ttl, task: task)
        }
    }

    static func encode(_ body: AssignBody, nested: JSONEncoder) -> Data {
        var writer = ObjectWriter()
        writer.key("lease")
        writer.text += #"{"lease_id":"#
        WireCodec.appendJSONString(body.lease.leaseId, to: &writer.text)
        writer.text += #","plan":"#
        WireCodec.appendJSONString(body.lease.plan, to: &writer.text)
        writer.text += #","todo":"#
        WireCodec.appendJSONString(body.lease.todo, to: &writer.text)
        writer.text += #","epoch":"# + String(body.lease.epoch) + "}"
        writer.field("ttl_ms", body.ttlMs)
        writer.key("task")
        let task = body.task
        var inner = ObjectWriter()
        inner.field("title", task.title)
        if let command = task.command { inner.field("command", command) }
        if let prompt = task.prompt { inner.field("prompt", prompt) }
        if let timeout = task.timeoutSeconds { inner.field("timeout_seconds", timeout, nested: nested) }
        inner.key("checks")
        inner.text += task.checks.isEmpty ? "[]" : nested.text(task.checks)
        if let budget = task.budget {
            inner.key("budget")
            inner.text += nested.text(budget)
        }
        if let risk = task.risk { inner.field("risk", risk.rawValue) }
        if let permissions = task.permissions {
            inner.key("permissions")
            inner.text += nested.text(permissions)
        }
        if let repository = task.repository { inner.field("repository", repository) }
        if let branch = task.branch { inner.field("branch", branch) }
        // Rare fields (a job's plans and steps): written here, read back by the full decoder.
        if let base = task.base { inner.field("base", base) }
        if let context = task.context { inner.field("context", context) }
        if let output = task.output {
            inner.key("output")
            inner.text += nested.text(output)
        }
        if let dependencies = task.dependencies {
            inner.key("dependencies")
            inner.text += nested.text(dependencies)
        }
        if let handover = task.handover { inner.field("handover", handover) }
        if let model = task.model { inner.field("model", model) }
        if let url = task.modelBaseURL { inner.field("model_base_url", url) }
        if let thread = task.resumeThread { inner.field("resume_thread", thread) }
        if let merge = task.merge {
            inner.key("merge")
            inner.text += nested.text(merge)
        }
        writer.text += inner.closed
        return writer.data
    }

    // MARK: - report

    private static let reportKeys: [StaticString] = [
        "lease_id", "epoch", "outcome", "exit_code", "summary", "output_tail", "duration_ms", "checks", "tokens", "files",
        "diff_stat",
    ]

    /// A `report` body whose texts are plain.
    static func report(_ frame: Data) -> ReportBody? {
        frame.withUnsafeBytes { raw -> ReportBody? in
            var scanner = PlainJSONScanner(raw)
            var leaseID: String?
            var epoch: Int64?
            var outcome: Outcome?
            var exitCode: Int32?
            var summary: String?
            var outputTail: String?
            var duration: Int64?
            var checks: [CheckResult]?
            var tokens: Int64?
            var files: [String]?
            var diffStat: DiffStat?
            let read = scanner.object { scanner, key, keys in
                guard let index = scanner.index(of: key, in: reportKeys), keys.first(index) else { return false }
                switch index {
                case 0: leaseID = scanner.string()
                case 1: epoch = scanner.signed()
                case 2: outcome = scanner.string().flatMap(Outcome.init(rawValue:))
                case 3:
                    if scanner.takeNull() { return true }
                    guard let value = scanner.signed(), let small = Int32(exactly: value) else { return false }
                    exitCode = small
                    return true
                case 4: summary = scanner.string()
                case 5: outputTail = scanner.string()
                case 6: duration = scanner.signed()
                case 7: checks = scanner.checkResults()
                case 8:
                    if scanner.takeNull() { return true }
                    tokens = scanner.signed()
                case 9:
                    if scanner.takeNull() { return true }
                    files = scanner.stringArray()
                case 10:
                    if scanner.takeNull() { return true }
                    diffStat = scanner.diffStat()
                default: return false
                }
                // Each case set its field from what it read; nil there means it could not.
                return switch index {
                case 0: leaseID != nil
                case 1: epoch != nil
                case 2: outcome != nil
                case 4: summary != nil
                case 5: outputTail != nil
                case 6: duration != nil
                case 7: checks != nil
                case 8: tokens != nil
                case 9: files != nil
                default: diffStat != nil
                }
            }
            guard read, scanner.atEnd, let leaseID, let epoch, let outcome, let summary, let outputTail, let duration, let checks
            else { return nil }
            return ReportBody(
                leaseId: leaseID,
                epoch: epoch,
                outcome: outcome,
                exitCode: exitCode,
                summary: summary,
                outputTail: outputTail,
                durationMs: duration,
                checks: checks,
                tokens: tokens,
                files: files,
                diffStat: diffStat
            )
        }
    }

    static func encode(_ body: ReportBody) -> Data {
        var writer = ObjectWriter()
        writer.field("lease_id", body.leaseId)
        writer.field("epoch", body.epoch)
        writer.field("outcome", body.outcome.rawValue)
        if let exitCode = body.exitCode { writer.field("exit_code", Int64(exitCode)) }
        writer.field("summary", body.summary)
        writer.field("output_tail", body.outputTail)
        writer.field("duration_ms", body.durationMs)
        writer.key("checks")
        writer.text += "["
        for (index, check) in body.checks.enumerated() {
            if index > 0 { writer.text += "," }
            var inner = ObjectWriter()
            inner.field("check", check.check)
            inner.field("passed", check.passed)
            inner.field("detail", check.detail)
            writer.text += inner.closed
        }
        writer.text += "]"
        if let tokens = body.tokens { writer.field("tokens", tokens) }
        if let files = body.files { writer.field("files", files) }
        if let diffStat = body.diffStat {
            var inner = ObjectWriter()
            inner.field("files", Int64(diffStat.files))
            inner.field("insertions", Int64(diffStat.insertions))
            inner.field("deletions", Int64(diffStat.deletions))
            writer.key("diff_stat")
            writer.text += inner.closed
        }
        if let usage = body.usage {
            var inner = ObjectWriter()
            inner.field("input", usage.input)
            inner.field("cached_input", usage.cachedInput)
            inner.field("output", usage.output)
            writer.key("usage")
            writer.text += inner.closed
        }
        if let output = body.output { writer.field("output", output) }
        if let model = body.model { writer.field("model", model) }
        if let resumeAt = body.resumeAt { writer.field("resume_at", resumeAt) }
        if let threadID = body.threadId { writer.field("thread_id", threadID) }
        if let merge = body.merge {
            writer.key("merge")
            writer.text += JSONEncoder().text(merge)
        }
        return writer.data
    }
}

extension PlainJSONScanner {
    /// The index of `key` in `names`.
    func index(of key: Range<Int>, in names: [StaticString]) -> Int? {
        names.firstIndex { matches(key, $0) }
    }

    private static let leaseKeys: [StaticString] = ["lease_id", "plan", "todo", "epoch"]
    private static let checkResultKeys: [StaticString] = ["check", "passed", "detail"]
    private static let diffStatKeys: [StaticString] = ["files", "insertions", "deletions"]
    private static let taskKeys: [StaticString] = [
        "title", "command", "prompt", "timeout_seconds", "checks", "budget", "risk", "permissions", "repository", "branch",
    ]

    mutating func leaseRef() -> LeaseRef? {
        var leaseID: String?
        var plan: String?
        var todo: String?
        var epoch: Int64?
        let read = object { scanner, key, keys in
            guard let index = scanner.index(of: key, in: Self.leaseKeys), keys.first(index) else { return false }
            switch index {
            case 0: leaseID = scanner.string()
            case 1: plan = scanner.string()
            case 2: todo = scanner.string()
            default: epoch = scanner.signed()
            }
            return switch index {
            case 0: leaseID != nil
            case 1: plan != nil
            case 2: todo != nil
            default: epoch != nil
            }
        }
        guard read, let leaseID, let plan, let todo, let epoch else { return nil }
        return LeaseRef(leaseId: leaseID, plan: plan, todo: todo, epoch: epoch)
    }

    /// A task with no checks, and no budget or permissions (or null ones).
    mutating func taskSpec() -> TaskSpec? {
        var task = TaskSpec(title: "", command: nil, prompt: nil, timeoutSeconds: nil, checks: [])
        var required = (title: false, checks: false)
        let read = object { scanner, key, keys in
            guard let index = scanner.index(of: key, in: Self.taskKeys), keys.first(index) else { return false }
            if index == 0 {
                guard let title = scanner.string() else { return false }
                task.title = title
                required.title = true
                return true
            }
            if index == 4 {
                required.checks = true
                return scanner.array { _ in false }  // `[]` only
            }
            if scanner.takeNull() { return true }
            switch index {
            case 1: task.command = scanner.string()
            case 2: task.prompt = scanner.string()
            case 3:
                // Whole seconds only: any other number is left to the full decoder.
                guard let seconds = scanner.signed(), seconds.magnitude <= 1 << 53 else { return false }
                task.timeoutSeconds = Double(seconds)
                return true
            case 6: task.risk = scanner.string().flatMap(Risk.init(rawValue:))
            case 8: task.repository = scanner.string()
            case 9: task.branch = scanner.string()
            default: return false  // a budget or permissions
            }
            return switch index {
            case 1: task.command != nil
            case 2: task.prompt != nil
            case 6: task.risk != nil
            case 8: task.repository != nil
            default: task.branch != nil
            }
        }
        guard read, required.title, required.checks else { return nil }
        return task
    }

    /// `[]` or `[{"check":…,"passed":…,"detail":…}, …]`.
    mutating func checkResults() -> [CheckResult]? {
        var results: [CheckResult] = []
        let read = array { scanner in
            var check: String?
            var passed: Bool?
            var detail: String?
            let read = scanner.object { scanner, key, keys in
                guard let index = scanner.index(of: key, in: Self.checkResultKeys), keys.first(index) else { return false }
                switch index {
                case 0: check = scanner.string()
                case 1: passed = scanner.bool()
                default: detail = scanner.string()
                }
                return switch index {
                case 0: check != nil
                case 1: passed != nil
                default: detail != nil
                }
            }
            guard read, let check, let passed, let detail else { return false }
            results.append(CheckResult(check: check, passed: passed, detail: detail))
            return true
        }
        return read ? results : nil
    }

    /// A `diff_stat` object: three counts that fit an `Int`.
    mutating func diffStat() -> DiffStat? {
        var counts: [Int?] = [nil, nil, nil]
        let read = object { scanner, key, keys in
            guard let index = scanner.index(of: key, in: Self.diffStatKeys), keys.first(index) else { return false }
            counts[index] = scanner.signed().flatMap { Int(exactly: $0) }
            return counts[index] != nil
        }
        guard read, let files = counts[0], let insertions = counts[1], let deletions = counts[2] else { return nil }
        return DiffStat(files: files, insertions: insertions, deletions: deletions)
    }
}
