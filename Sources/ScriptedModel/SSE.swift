import Foundation

/// The Server-Sent Events the Responses API streams, as codex reads them (`event:` line, `data:` JSON line).
enum SSE {
    static func event(_ object: [String: Any]) -> Data {
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var data = Data("event: \(object["type"] as? String ?? "message")\ndata: ".utf8)
        data.append(json)
        data.append(Data("\n\n".utf8))
        return data
    }

    static func completed(_ id: String) -> Data {
        event([
            "type": "response.completed",
            "response": [
                "id": id,
                "usage": [
                    "input_tokens": 100, "input_tokens_details": ["cached_tokens": 0], "output_tokens": 10,
                    "output_tokens_details": ["reasoning_tokens": 0], "total_tokens": 110,
                ],
            ],
        ])
    }

    static func itemDone(_ item: [String: Any]) -> Data {
        event(["type": "response.output_item.done", "item": item])
    }

    /// The events of a reply that is a stream; nil for replies that are not.
    static func body(for reply: ModelScript.Reply, id: String) -> Data? {
        var body = event(["type": "response.created", "response": ["id": id]])
        switch reply {
        case .shell(let command):
            let arguments =
                (try? JSONSerialization.data(withJSONObject: ["cmd": command])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            body.append(itemDone(["type": "function_call", "call_id": "call_\(id)", "name": "exec_command", "arguments": arguments]))
        case .escalatedShell(let command, let justification):
            let object: [String: Any] = ["cmd": command, "sandbox_permissions": "require_escalated", "justification": justification]
            let arguments = (try? JSONSerialization.data(withJSONObject: object)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            body.append(itemDone(["type": "function_call", "call_id": "call_\(id)", "name": "exec_command", "arguments": arguments]))
        case .askUser(let questionID, let header, let question, let options):
            let object: [String: Any] = [
                "questions": [
                    [
                        "id": questionID, "header": header, "question": question,
                        "options": options.map { ["label": $0, "description": ""] },
                    ]
                ]
            ]
            let arguments = (try? JSONSerialization.data(withJSONObject: object)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            body.append(itemDone(["type": "function_call", "call_id": "call_\(id)", "name": "request_user_input", "arguments": arguments]))
        case .applyPatch(let patch):
            body.append(itemDone(["type": "custom_tool_call", "call_id": "call_\(id)", "name": "apply_patch", "input": patch]))
        case .message(let text):
            body.append(
                itemDone([
                    "type": "message", "role": "assistant", "id": "msg_\(id)",
                    "content": [["type": "output_text", "text": text]],
                ])
            )
        case .failed(let code, let message):
            body.append(event(["type": "response.failed", "response": ["id": id, "error": ["code": code, "message": message]]]))
            return body
        case .httpError, .silence, .drop, .once:
            return nil
        }
        body.append(completed(id))
        return body
    }
}
