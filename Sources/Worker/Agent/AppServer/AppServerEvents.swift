import DroverProtocol

/// app-server notifications as the same events `codex exec --json` prints, so one supervisor reads both.
enum AppServerEvents {
    /// The events a notification stands for; `usage` carries the thread's latest token totals.
    static func events(method: String, params: [String: JSONValue], usage: [String: JSONValue]) -> [CodexExecEvent] {
        switch method {
        case "thread/started":
            if case .object(let thread)? = params["thread"], let id = thread["id"]?.stringValue { return [.threadStarted(threadID: id)] }
            return []
        case "turn/started":
            return [.turnStarted]
        case "item/started", "item/completed":
            guard case .object(let item)? = params["item"], let type = item["type"]?.stringValue else { return [] }
            let phase = method == "item/started" ? "started" : "completed"
            switch type {
            case "commandExecution":
                var fields: [String: JSONValue] = ["command": item["command"] ?? .string("")]
                if let output = item["aggregatedOutput"], output != .null { fields["aggregated_output"] = output }
                if let exit = item["exitCode"], exit != .null { fields["exit_code"] = exit }
                return [.item(phase: phase, type: "command_execution", fields: fields)]
            case "agentMessage":
                return phase == "completed"
                    ? [.item(phase: phase, type: "agent_message", fields: ["text": item["text"] ?? .string("")])] : []
            case "fileChange":
                var changes: [JSONValue] = []
                if case .array(let list)? = item["changes"] {
                    for case .object(let change) in list {
                        var kind = change["kind"] ?? .string("?")
                        if case .object(let object) = kind { kind = object["type"] ?? .string("?") }
                        changes.append(.object(["path": change["path"] ?? .string("?"), "kind": kind]))
                    }
                }
                return [.item(phase: phase, type: "file_change", fields: ["changes": .array(changes)])]
            case "reasoning":
                return []
            default:
                return phase == "completed" ? [.item(phase: phase, type: type, fields: [:])] : []
            }
        case "error":
            // Only a retry is news: a final error is said again by the turn's `turn/completed` (failed).
            guard case .object(let error)? = params["error"], params["willRetry"] == .bool(true) else { return [] }
            let message = error["message"]?.stringValue ?? ""
            let details = error["additionalDetails"]?.stringValue.map { " (\($0))" } ?? ""
            return [.retrying(message: message + details)]
        case "turn/completed":
            guard case .object(let turn)? = params["turn"] else { return [] }
            switch turn["status"]?.stringValue {
            case "completed":
                return [.turnCompleted(usage: usage)]
            case "failed":
                var message = "the turn failed"
                if case .object(let error)? = turn["error"] { message = error["message"]?.stringValue ?? message }
                return [.turnFailed(message: message)]
            default:
                return []  // interrupted: by us, and the supervisor knows why
            }
        default:
            return []
        }
    }

    /// The token totals of a `thread/tokenUsage/updated` notification, in exec's terms.
    static func usage(_ params: [String: JSONValue]) -> [String: JSONValue]? {
        guard case .object(let usage)? = params["tokenUsage"], case .object(let total)? = usage["total"] else { return nil }
        return [
            "input_tokens": total["inputTokens"] ?? .int(0), "cached_input_tokens": total["cachedInputTokens"] ?? .int(0),
            "output_tokens": total["outputTokens"] ?? .int(0),
        ]
    }
}
