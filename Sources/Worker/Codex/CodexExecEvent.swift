public import DroverProtocol
import Foundation

/// One line of `codex exec --json` output, parsed tolerantly: unknown types and fields are kept, never rejected
/// (the format grows new fields every few releases, and `web_search` items even repeat the `id` key).
public enum CodexExecEvent: Sendable, Equatable {
    case threadStarted(threadID: String)
    case turnStarted
    /// An item started, updated or completed: `agent_message`, `command_execution`, `file_change`, `reasoning`,
    /// `error`, `web_search`, `todo_list`, `mcp_tool_call`…
    case item(phase: String, type: String, fields: [String: JSONValue])
    /// A non-terminal error notice that is not a retry (exec prints the turn's failure as one before `turn.failed`).
    case error(message: String)
    /// codex retries the model request itself: exec's `Reconnecting... 1/5 (…)` lines, app-server's `error` with
    /// `willRetry: true`. Not a failure, and not the agent's progress.
    case retrying(message: String)
    case turnCompleted(usage: [String: JSONValue])
    case turnFailed(message: String)
    /// A line of a type this build does not know.
    case other(type: String)

    /// Parses one JSONL line; nil if it is not a JSON object with a `type`.
    public init?(line: Data) {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: line),
            let type = object["type"]?.stringValue
        else { return nil }
        switch type {
        case "thread.started":
            self = .threadStarted(threadID: object["thread_id"]?.stringValue ?? "")
        case "turn.started":
            self = .turnStarted
        case "item.started", "item.updated", "item.completed":
            guard case .object(let item)? = object["item"] else {
                self = .other(type: type)
                return
            }
            self = .item(phase: String(type.dropFirst("item.".count)), type: item["type"]?.stringValue ?? "unknown", fields: item)
        case "error":
            let message = object["message"]?.stringValue ?? ""
            self = message.hasPrefix("Reconnecting") ? .retrying(message: message) : .error(message: message)
        case "turn.completed":
            if case .object(let usage)? = object["usage"] {
                self = .turnCompleted(usage: usage)
            } else {
                self = .turnCompleted(usage: [:])
            }
        case "turn.failed":
            if case .object(let error)? = object["error"] {
                self = .turnFailed(message: error["message"]?.stringValue ?? "")
            } else {
                self = .turnFailed(message: "")
            }
        default:
            self = .other(type: type)
        }
    }

    /// The event as Drover's agent event, for the coordinator and observers.
    public var agentEvent: AgentEvent {
        switch self {
        case .threadStarted(let id):
            return AgentEvent(kind: .thread, text: id)
        case .turnStarted:
            return AgentEvent(kind: .turnStarted)
        case .item(let phase, let type, let fields):
            switch type {
            case "agent_message":
                return AgentEvent(kind: .message, text: fields["text"]?.stringValue)
            case "command_execution":
                let command = fields["command"]?.stringValue ?? ""
                if phase == "started" { return AgentEvent(kind: .commandStarted, text: command) }
                let exit = fields["exit_code"]?.intValue.map { " (exit \($0))" } ?? ""
                let output = fields["aggregated_output"]?.stringValue ?? ""
                return AgentEvent(kind: .command, text: "$ \(command)\(exit)\n\(output.suffix(4000))")
            case "file_change":
                var paths: [String] = []
                if case .array(let changes)? = fields["changes"] {
                    for case .object(let change) in changes {
                        paths.append("\(change["kind"]?.stringValue ?? "?") \(change["path"]?.stringValue ?? "?")")
                    }
                }
                return AgentEvent(kind: phase == "started" ? .fileChangeStarted : .fileChange, text: paths.joined(separator: "\n"))
            case "error":
                return AgentEvent(kind: .warning, text: fields["message"]?.stringValue)
            case "reasoning":
                return AgentEvent(kind: .reasoning, text: fields["text"]?.stringValue)
            default:
                return AgentEvent(kind: .item, text: "\(phase) \(type)")
            }
        case .error(let message):
            return AgentEvent(kind: .error, text: message)
        case .retrying(let message):
            return AgentEvent(kind: .retrying, text: "codex retries the model request: \(message)")
        case .turnCompleted(let usage):
            let tokens = ["input_tokens", "output_tokens"].compactMap { key in usage[key]?.intValue.map { "\(key)=\($0)" } }
            return AgentEvent(kind: .turnCompleted, text: tokens.joined(separator: " "))
        case .turnFailed(let message):
            return AgentEvent(kind: .turnFailed, text: message)
        case .other(let type):
            return AgentEvent(kind: .other, text: type)
        }
    }
}

/// Splits a byte stream into lines, keeping a partial last line until it is complete.
public struct LineSplitter: Sendable {
    private var pending = Data()

    public init() {}

    /// The complete lines in what has arrived so far, without their newlines.
    public mutating func lines(adding data: Data) -> [Data] {
        pending.append(data)
        var lines: [Data] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(Data(pending[pending.startIndex..<newline]))
            pending = Data(pending[pending.index(after: newline)...])
        }
        return lines
    }
}
