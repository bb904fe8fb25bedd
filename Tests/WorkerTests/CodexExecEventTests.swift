import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// `codex exec --json` lines as the reference captured them from codex 0.163, parsed tolerantly.
@Suite struct CodexExecEventTests {
    func parse(_ line: String) -> CodexExecEvent? { CodexExecEvent(line: Data(line.utf8)) }

    @Test func threadTurnAndTerminalLines() {
        #expect(
            parse(#"{"type":"thread.started","thread_id":"01a1fe75-033c-70c3-a7d1-f08a65581108"}"#)
                == .threadStarted(threadID: "01a1fe75-033c-70c3-a7d1-f08a65581108")
        )
        #expect(parse(#"{"type":"turn.started"}"#) == .turnStarted)
        let completed = parse(#"{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"output_tokens":30}}"#)
        #expect(completed?.agentEvent.text == "input_tokens=300 output_tokens=30")
        let failed = parse(
            #"{"type":"turn.failed","error":{"message":"stream disconnected before completion: stream closed before response.completed"}}"#
        )
        #expect(failed == .turnFailed(message: "stream disconnected before completion: stream closed before response.completed"))
        let retry = parse(#"{"type":"error","message":"Reconnecting... 1/2 (stream disconnected)"}"#)
        #expect(retry == .retrying(message: "Reconnecting... 1/2 (stream disconnected)"))
        #expect(
            retry?.agentEvent
                == AgentEvent(kind: .retrying, text: "codex retries the model request: Reconnecting... 1/2 (stream disconnected)")
        )
        #expect(parse(#"{"type":"error","message":"stream disconnected before completion"}"#)?.agentEvent.kind == .error)
    }

    @Test func commandExecutionItems() {
        let started = parse(
            #"{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#
        )
        #expect(started?.agentEvent == AgentEvent(kind: .commandStarted, text: "/bin/bash -lc 'echo hi'"))
        let done = parse(
            #"{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"ls /x","aggregated_output":"ls: cannot access '/x'\n","exit_code":2,"status":"failed"}}"#
        )
        #expect(done?.agentEvent.kind == .command)
        #expect(done?.agentEvent.text == "$ ls /x (exit 2)\nls: cannot access '/x'\n")
    }

    @Test func fileChangesMessagesAndWarnings() {
        let change = parse(
            #"{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/w/a.txt","kind":"add"}],"status":"completed"}}"#
        )
        #expect(change?.agentEvent == AgentEvent(kind: .fileChange, text: "add /w/a.txt"))
        #expect(
            parse(#"{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"done"}}"#)?.agentEvent
                == AgentEvent(kind: .message, text: "done")
        )
        #expect(
            parse(#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata not found"}}"#)?.agentEvent.kind
                == .warning
        )
    }

    @Test func toleratesDuplicateKeysUnknownTypesAndFields() {
        // web_search items carry two "id" keys.
        let search = parse(
            #"{"type":"item.completed","item":{"id":"item_3","type":"web_search","id":"ws_1","query":"q","action":{"type":"search"}}}"#
        )
        #expect(search?.agentEvent.kind == .item)
        #expect(parse(#"{"type":"item.plan.delta","delta":"x","brand_new":true}"#) == .other(type: "item.plan.delta"))
        #expect(parse(#"{"type":"turn.completed","usage":{"input_tokens":1,"cache_write_input_tokens":0,"future":{"a":1}}}"#) != nil)
        #expect(parse("not json") == nil)
        #expect(parse(#"{"no_type":1}"#) == nil)
    }

    @Test func linesAreSplitAcrossChunks() {
        var splitter = LineSplitter()
        #expect(splitter.lines(adding: Data(#"{"type":"turn."#.utf8)).isEmpty)
        let lines = splitter.lines(adding: Data("started\"}\n{\"type\":\"turn.completed\"}\n{\"partial".utf8))
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"type":"turn.started"}"#, #"{"type":"turn.completed"}"#])
    }
}
