import DroverProtocol
import Testing

@testable import Coordinator

/// A TODO taken up again after its worker was lost: the new session is told what the one before did.
@Suite struct HandoverTests {
    func event(_ kind: AgentEventKind, _ text: String, worker: String = "w1") -> Event {
        Event(seq: 1, ts: 1, type: .agent(kind), plan: "p", todo: "a", worker: worker, data: ["text": .string(text)])
    }

    @Test func theSummarySaysWhatTheSessionDidOldestFirst() throws {
        let events = [
            Event(seq: 1, ts: 1, type: .todoAssigned, plan: "p", todo: "a", worker: "w1"),
            event(.reasoning, "thinking"),
            event(.command, "$ echo progress > progress.txt (exit 0)\n"),
            event(.fileChange, "progress.txt\nnotes.md"),
            event(.checkpoint, "checkpoint 1a2b3c4 pushed to drover/p/a"),
            event(.message, "Half done:\nnext I write the tests."),
        ]
        let summary = try #require(Handover.summary(of: events))
        #expect(
            summary == """
                What the session before (4 last steps on w1) did, oldest first:
                - ran $ echo progress > progress.txt (exit 0)
                - changed progress.txt, notes.md
                - saved its work: checkpoint 1a2b3c4 pushed to drover/p/a
                - said: Half done: next I write the tests.
                """
        )
        #expect(Handover.summary(of: events, limit: 1)?.hasSuffix("- said: Half done: next I write the tests.") == true)
        #expect(Handover.summary(of: [events[0], events[1]]) == nil, "nothing worth telling")
    }

    @Test func aTodoTakenUpAgainIsToldWhatTheSessionBeforeDid() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let todo = Todo(id: "a", title: "a", prompt: "write progress", checks: [Check(file: "done.txt")])
        let first = try #require(try harness.submit(Plan(id: "p", title: "p", repository: "/srv/app.git", todos: [todo])).assigns().first)
        #expect(first.task.handover == nil, "its first session has nobody before it")
        let command = AgentEvent(kind: .command, text: "$ echo progress > progress.txt (exit 0)")
        try harness.fromWorker("w1", .progress, ProgressBody(leaseId: first.lease.leaseId, epoch: 1, events: [command]))

        try harness.register("w2")
        try harness.tick(advancing: 1500)
        try harness.fromWorker("w2", .heartbeat, HeartbeatBody(leases: []))
        let again = try #require(try harness.tick(advancing: 1000).assigns(to: "w2").first)
        #expect(again.lease.epoch == 2)
        let handover = try #require(again.task.handover)
        #expect(handover.contains("- ran $ echo progress > progress.txt (exit 0)"), "\(handover)")
    }
}
