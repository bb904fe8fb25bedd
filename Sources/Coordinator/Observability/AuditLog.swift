import DroverProtocol
import Foundation

/// The audit log: every decision the coordinator or a session took, one JSON line each, with its reason and
/// evidence, in a file rotated by size (`audit.jsonl`, then `audit.jsonl.1` … `audit.jsonl.<keep>`).
///
/// Decisions are the event log without the agents' chatter: scheduling, requeues and fencing, policy decisions,
/// detections and recoveries, inbox answers and timeouts, operators' actions. Written at commit, on the core's
/// thread and written just after; a failure to write is logged once and does not stop the coordinator.
public final class AuditLog: Sendable {
    public let path: String
    /// Lines are built and written on this queue, so neither the formatting nor the file's system calls are on
    /// the core's thread; ``flush()`` waits for what is queued.
    private let queue = DispatchQueue(label: "drover.audit")
    private let file: AuditFile

    public init(path: String, maxBytes: Int = 10 << 20, keep: Int = 5) {
        self.path = path
        self.file = AuditFile(path: path, maxBytes: maxBytes, keep: keep)
    }

    /// Waits until every line handed over so far is written.
    public func flush() { queue.sync {} }

    /// Agent events that are decisions; every other `agent.*` event is output, not a decision.
    static let agentDecisions: Set<EventType> = [.agent(.detected), .agent(.recovery), .agent(.approval)]

    static func isDecision(_ type: EventType) -> Bool {
        type.subject != "agent" || agentDecisions.contains(type)
    }

    /// The audit line of an event: the event as in the log (`seq`, `ts`, `type`, `plan`, `todo`, `worker`, `data`),
    /// with the `decision`, its `reason` and its `evidence` in front. Built on the event's JSON, which is made
    /// anyway, so auditing costs little on the hot path.
    static func line(_ event: Event, json: String) -> String {
        var text = #"{"decision":"#
        WireCodec.appendJSONString(event.type.rawValue, to: &text)
        let data = event.data
        if let reason = data["reason"] ?? data["summary"] ?? data["because"].map({ .string("\($0.stringValue ?? "") did not succeed") }) {
            text += #","reason":"#
            reason.appendJSON(to: &text)
        }
        if let evidence = data["evidence"] ?? data["text"] ?? data["output_tail"] {
            text += #","evidence":"#
            evidence.appendJSON(to: &text)
        }
        return text + "," + json.dropFirst()
    }

    /// Appends the decisions among `events`.
    func write(_ events: [(event: Event, json: String)]) {
        guard !events.isEmpty else { return }
        // The lines are built on the audit queue too, off the core's thread; the queue keeps their order.
        queue.async { [file] in
            var text = ""
            for (event, json) in events where Self.isDecision(event.type) { text += Self.line(event, json: json) + "\n" }
            if !text.isEmpty { file.append(text) }
        }
    }
}

/// The audit file and its rotation. Used on the audit queue only.
private final class AuditFile: @unchecked Sendable {
    let path: String
    let maxBytes: Int
    let keep: Int
    private var handle: FileHandle?
    private var size = 0
    private var failed = false

    init(path: String, maxBytes: Int, keep: Int) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
    }

    deinit { try? handle?.close() }

    func append(_ text: String) {
        guard !failed else { return }
        do {
            if handle == nil { try open() }
            if size + text.utf8.count > maxBytes, size > 0 { try rotate() }
            try handle?.write(contentsOf: Data(text.utf8))
            size += text.utf8.count
        } catch {
            failed = true
            FileHandle.standardError.write(
                Data(
                    "drover: cannot write the audit log \(path): \(error); auditing stops (make the directory writable, or pass --audit-log PATH or none)\n"
                        .utf8
                )
            )
        }
    }

    private func open() throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        size = Int(try handle.seekToEnd())
        self.handle = handle
    }

    /// `audit.jsonl` becomes `.1`, `.1` becomes `.2`…; the oldest beyond `keep` is removed.
    private func rotate() throws {
        try handle?.close()
        handle = nil
        let files = FileManager.default
        try? files.removeItem(atPath: "\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) where files.fileExists(atPath: "\(path).\(index)") {
            try files.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
        }
        try files.moveItem(atPath: path, toPath: "\(path).1")
        try open()
    }
}
