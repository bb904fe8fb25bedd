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
    }
}
