import DroverProtocol
import Testing

@testable import Worker

/// app-server notifications read as the events `codex exec --json` prints.
@Suite struct AppServerEventsTests {
    func events(_ method: String, _ params: [String: JSONValue], usage: [String: JSONValue] = [:]) -> [CodexExecEvent] {
        AppServerEvents.events(method: method, params: params, usage: usage)
    }

    @Test func threadAndTurnStart() {
        #expect(events("thread/started", ["thread": .object(["id": "th-1"])]) == [.threadStarted(threadID: "th-1")])
        #expect(events("thread/started", [:]).isEmpty)
        #expect(events("turn/started", ["turn": .object(["id": "tu-1"])]) == [.turnStarted])
    }

    @Test func commandExecutions() {
        let started = events("item/started", ["item": .object(["type": "commandExecution", "command": "ls", "exitCode": .null])])
        #expect(started == [.item(phase: "started", type: "command_execution", fields: ["command": "ls"])])
        let completed = events(
            "item/completed",
            ["item": .object(["type": "commandExecution", "command": "ls", "aggregatedOutput": "a\n", "exitCode": 0])]
        )
        #expect(
            completed
                == [
                    .item(
                        phase: "completed",
                        type: "command_execution",
                        fields: ["command": "ls", "aggregated_output": "a\n", "exit_code": 0]
                    )
                ]
        )
        #expect(completed.first?.agentEvent == AgentEvent(kind: .command, text: "$ ls (exit 0)\na\n"))
    }

    @Test func messagesOnlyWhenComplete() {
        #expect(events("item/started", ["item": .object(["type": "agentMessage", "text": ""])]).isEmpty)
        #expect(
            events("item/completed", ["item": .object(["type": "agentMessage", "text": "Done."])])
                == [.item(phase: "completed", type: "agent_message", fields: ["text": "Done."])]
        )
    }

    @Test func fileChangesWithEitherShapeOfKind() {
        let changes: JSONValue = .array([
            .object(["path": "/w/a.txt", "kind": .object(["type": "add"])]),
            .object(["path": "/w/b.txt", "kind": "update"]),
        ])
        let parsed = events("item/completed", ["item": .object(["type": "fileChange", "changes": changes])])
        #expect(parsed.first?.agentEvent == AgentEvent(kind: .fileChange, text: "add /w/a.txt\nupdate /w/b.txt"))
    }

    @Test func reasoningIsDroppedAndUnknownItemsKeptWhenComplete() {
        #expect(events("item/completed", ["item": .object(["type": "reasoning"])]).isEmpty)
        #expect(events("item/started", ["item": .object(["type": "webSearch"])]).isEmpty)
        #expect(
            events("item/completed", ["item": .object(["type": "webSearch"])]) == [
                .item(phase: "completed", type: "webSearch", fields: [:])
            ]
        )
        #expect(events("item/completed", [:]).isEmpty)
    }

    @Test func onlyErrorsThatWillBeRetriedAreNotices() {
        let error: JSONValue = .object(["message": "Reconnecting... 1/5"])
        #expect(events("error", ["error": error, "willRetry": true]) == [.retrying(message: "Reconnecting... 1/5")])
        let detailed: JSONValue = .object(["message": "Reconnecting... 1/5", "additionalDetails": "stream disconnected"])
        #expect(
            events("error", ["error": detailed, "willRetry": true]) == [.retrying(message: "Reconnecting... 1/5 (stream disconnected)")]
        )
        #expect(events("error", ["error": error, "willRetry": false]).isEmpty, "the turn's own failure says it")
    }

    @Test func turnCompletionByStatus() {
        let usage: [String: JSONValue] = ["input_tokens": 10, "output_tokens": 2]
        #expect(events("turn/completed", ["turn": .object(["status": "completed"])], usage: usage) == [.turnCompleted(usage: usage)])
        #expect(
            events("turn/completed", ["turn": .object(["status": "failed", "error": .object(["message": "Rate limit reached"])])])
                == [.turnFailed(message: "Rate limit reached")]
        )
        #expect(events("turn/completed", ["turn": .object(["status": "failed"])]) == [.turnFailed(message: "the turn failed")])
        #expect(events("turn/completed", ["turn": .object(["status": "interrupted"])]).isEmpty, "we interrupted it, and know why")
        #expect(events("turn/completed", [:]).isEmpty)
        #expect(events("thread/tokenUsage/updated", [:]).isEmpty)
    }

    @Test func tokenUsageInExecTerms() {
        let params: [String: JSONValue] = [
            "tokenUsage": .object(["total": .object(["inputTokens": 300, "outputTokens": 30, "cachedInputTokens": 120])])
        ]
        #expect(AppServerEvents.usage(params) == ["input_tokens": 300, "cached_input_tokens": 120, "output_tokens": 30])
        #expect(AppServerEvents.usage([:]) == nil)
    }
}
