import Testing

@testable import Worker

/// What codex answers a `thread/resume` of a thread another process holds, read as a clear failure.
@Suite struct HeldThreadTests {
    @Test func aHeldThreadNamesTheThreadAndWhatToDo() throws {
        let error = "thread 01a2 already has an active writer"
        let text = try #require(HeldThread.failure(resuming: "01a2", error: error))
        #expect(text.hasPrefix("thread 01a2 is held by another codex process (codex: thread 01a2 already has an active writer)."))
        #expect(text.contains("stop that process"))
        #expect(TurnFailure(message: text).kind == .fatal, "retrying cannot help while the other process runs")
        #expect(HeldThread.failure(resuming: "01a2", error: "no rollout found for thread id 01a2") == nil)
        let exec = """
            2026-11-26T20:57:31Z ERROR codex_core::session: Failed to create session: thread-store conflict: thread 01a2 already has an active writer
            Error: thread/resume: thread/resume failed: thread 01a2 already has an active writer (code -32600)

            Stack backtrace:
               0: <unknown>
            """
        #expect(
            HeldThread.failure(resuming: "01a2", output: exec)?.hasPrefix(
                "thread 01a2 is held by another codex process (codex: Error: thread/resume: thread/resume failed: thread 01a2 already has an active writer (code -32600))."
            ) == true
        )
        #expect(HeldThread.failure(resuming: "01a2", output: "Error: no rollout found") == nil)
    }
}
