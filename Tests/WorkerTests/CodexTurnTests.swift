import DroverProtocol
import Foundation
import Testing

@testable import Worker

/// What a turn has shown, fed with `codex exec --json` lines: its end, thread, messages, tokens, loops and silence.
@Suite struct CodexTurnTests {
    func lines(_ lines: String...) -> Data { Data(lines.map { $0 + "\n" }.joined().utf8) }

    func command(_ command: String, exit: Int, output: String) -> String {
        #"{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"\#(command)","aggregated_output":"\#(output)","exit_code":\#(exit)}}"#
    }

    @Test func aCompletedTurnHasItsThreadMessageAndTokens() {
        let turn = CodexTurn(loopThreshold: 3)
        let parsed = turn.take(
            lines(
                #"{"type":"thread.started","thread_id":"th-1"}"#,
                #"{"type":"turn.started"}"#,
                #"{"type":"item.completed","item":{"id":"a","type":"agent_message","text":"Done."}}"#
            )
        )
        #expect(parsed.count == 3)
        #expect(turn.ending == nil)
        _ = turn.take(Data(#"{"type":"turn.completed","usage":{"input_tokens":300,"output_tokens":"#.utf8))
        #expect(turn.ending == nil, "half a line is not an event yet")
        _ = turn.take(Data("30}}\n".utf8))
        #expect(turn.ending == .turnCompleted(usage: ["input_tokens": 300, "output_tokens": 30]))
        #expect(turn.threadID == "th-1")
        #expect(turn.lastMessage == "Done.")
        #expect(turn.tokens == 330)
        let report = TurnReport(turn: turn, run: ProcessRun(status: 0, timedOut: false, tail: "t"), cancelled: false)
        #expect(
            report
                == TurnReport(
                    ending: .completed,
                    lastMessage: "Done.",
                    actions: 0,
                    threadID: "th-1",
                    tokens: 330,
                    usage: TokenUsage(input: 300, output: 30),
                    status: 0,
                    tail: "t"
                )
        )
    }

    @Test func aTurnCountsItsCommandsAndFileChanges() {
        let turn = CodexTurn(loopThreshold: 3)
        _ = turn.take(
            lines(
                #"{"type":"item.started","item":{"id":"c","type":"command_execution","command":"ls"}}"#,
                #"{"type":"item.completed","item":{"id":"c","type":"command_execution","command":"ls","exit_code":0,"aggregated_output":""}}"#,
                #"{"type":"item.completed","item":{"id":"f","type":"file_change","changes":[{"path":"a.txt","kind":"add"}]}}"#
            )
        )
        #expect(turn.actions == 2)
    }

    @Test func aFailedTurnReportsItsMessage() {
        let turn = CodexTurn(loopThreshold: 3)
        _ = turn.take(lines(#"{"type":"turn.failed","error":{"message":"Rate limit reached"}}"#))
        let report = TurnReport(turn: turn, run: ProcessRun(status: 1, timedOut: false, tail: ""), cancelled: true)
        #expect(report.ending == .failed(message: "Rate limit reached"))
        #expect(report.cancelled)
        #expect(report.status == 1)
    }

    @Test func aTurnWithNoEndingIsReportedAsSuch() {
        let turn = CodexTurn(loopThreshold: 3)
        _ = turn.take(lines(#"{"type":"turn.started"}"#))
        #expect(TurnReport(turn: turn, run: ProcessRun(status: 137, timedOut: false, tail: ""), cancelled: false).ending == nil)
    }

    @Test func theSameCommandWithTheSameResultIsALoop() {
        let turn = CodexTurn(loopThreshold: 3)
        _ = turn.take(lines(command("ls", exit: 0, output: "a\\n"), command("ls", exit: 0, output: "a\\n")))
        #expect(turn.looping == nil)
        _ = turn.take(lines(command("ls", exit: 0, output: "b\\n"), command("ls", exit: 1, output: "a\\n")))
        #expect(turn.looping == nil, "another result is not a repeat")
        _ = turn.take(lines(command("ls", exit: 0, output: "noise\\na\\n")))
        #expect(turn.looping == "`ls` ran 3 times with the same result", "the last line of output decides")
        turn.refuseLoopRecovery("looping 2 times")
        #expect(
            TurnReport(turn: turn, run: ProcessRun(status: 0, timedOut: false, tail: ""), cancelled: false).loopRefusal == "looping 2 times"
        )
        turn.forgetLoop()
        #expect(turn.looping == nil)
        _ = turn.take(lines(command("ls", exit: 0, output: "a\\n")))
        #expect(turn.looping == nil, "a steered loop starts counting again")
    }

    @Test func silenceIsAHangOnlyWhileNoCommandRunsAndNoHumanIsAsked() async throws {
        let turn = CodexTurn(loopThreshold: 3)
        _ = turn.take(lines(#"{"type":"item.started","item":{"id":"c","type":"command_execution","command":"sleep 9"}}"#))
        try await Task.sleep(for: .milliseconds(20))
        #expect(!turn.checkHung(limit: .milliseconds(10)), "a long command is not a stall")
        _ = turn.take(lines(command("sleep 9", exit: 0, output: "")))
        turn.waiting(true)
        try await Task.sleep(for: .milliseconds(20))
        #expect(!turn.checkHung(limit: .milliseconds(10)), "waiting for an operator is not a stall")
        turn.waiting(false)
        #expect(!turn.checkHung(limit: .milliseconds(10)), "the idle clock restarts after the wait")
        try await Task.sleep(for: .milliseconds(20))
        #expect(turn.checkHung(limit: .milliseconds(10)))
        #expect(turn.hung)
        #expect(TurnReport(turn: turn, run: ProcessRun(status: 0, timedOut: false, tail: ""), cancelled: false).hung)
    }

    /// codex 0.163 waits for a network that never comes with `Reconnecting... waiting for network` every few seconds:
    /// retrying is not progress, so it does not keep the watchdog quiet.
    @Test func codexRetryingTheModelIsNotActivity() async throws {
        let turn = CodexTurn(loopThreshold: 3)
        try await Task.sleep(for: .milliseconds(20))
        _ = turn.take(lines(#"{"type":"error","message":"Reconnecting... 2/5 (stream disconnected)"}"#))
        turn.feed([.retrying(message: "Reconnecting... waiting for network")])
        #expect(turn.checkHung(limit: .milliseconds(10)))
    }

    @Test func anEndedTurnNeverHangs() async throws {
        let turn = CodexTurn(loopThreshold: 3)
        turn.feed([.turnCompleted(usage: [:])])
        try await Task.sleep(for: .milliseconds(20))
        #expect(!turn.checkHung(limit: .milliseconds(10)))
    }
}
