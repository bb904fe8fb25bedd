import Foundation

/// What the scripted model does, step by step, in the Responses API's terms.
///
/// The step for a request is chosen from the request itself, not from a call counter: it is the number of
/// assistant items (tool calls and messages) already in the request's `input`. So a retried request gets the same
/// answer, and a follow-up turn on the same thread moves on to the next step.
public struct ModelScript: Sendable {
    /// One answer of the model.
    public indirect enum Reply: Sendable {
        /// Runs a shell command through codex's `exec_command` tool.
        case shell(String)
        /// Asks to run a command outside the sandbox (`sandbox_permissions: require_escalated`): codex asks its
        /// client for approval first.
        case escalatedShell(String, justification: String)
        /// Edits files through codex's freeform `apply_patch` tool.
        case applyPatch(String)
        /// Asks the user through codex's `request_user_input` tool: one question, with its option labels. codex
        /// only lets the model ask with its `default_mode_request_user_input` feature on.
        case askUser(id: String, header: String, question: String, options: [String])
        /// Ends the turn with a message.
        case message(String)
        /// Answers with an HTTP error status and body.
        case httpError(status: Int, body: String)
        /// Fails the response in the stream (`response.failed` with `code`).
        case failed(code: String, message: String)
        /// Sends the stream's headers, then nothing until the server stops.
        case silence
        /// Starts a message, then closes the connection without `response.completed`.
        case drop
        /// `first` the first time this step is asked for, `then` every time after (a transient failure).
        case once(Reply, then: Reply)
    }

    public var steps: [Reply]
    /// The answer once the steps run out.
    public var otherwise: Reply
    /// When several scripts share a server: this one answers requests whose body contains this text.
    public var match: String?

    public init(_ steps: [Reply], otherwise: Reply = .message("Nothing more to do."), match: String? = nil) {
        self.steps = steps
        self.otherwise = otherwise
        self.match = match
    }

    /// The step a request body asks for.
    public func step(for body: Data) -> Int { Self.assistantItems(in: body) }

    /// The reply for a step, the `times`-th time it is asked for (counting from 1).
    public func reply(step: Int, times: Int) -> Reply {
        var reply = step < steps.count ? steps[step] : otherwise
        while case .once(let first, let then) = reply { reply = times == 1 ? first : then }
        return reply
    }

    /// How many assistant items (tool calls and assistant messages) the request's history holds.
    public static func assistantItems(in body: Data) -> Int {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let input = object["input"] as? [[String: Any]]
        else { return 0 }
        return input.filter { item in
            switch item["type"] as? String {
            case "function_call", "custom_tool_call", "local_shell_call": return true
            case "message": return item["role"] as? String == "assistant"
            default: return false
            }
        }.count
    }
}
