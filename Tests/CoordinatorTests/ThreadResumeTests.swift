import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Coordinator

/// A paused or parked session's codex thread: the coordinator keeps the id its report named, across a restart, and
/// sends it with the TODO's next assignment (`TaskSpec.resumeThread`).
@Suite struct ThreadResumeTests {
    static let thread = "019ac0de-1111-7222-8333-944455556666"

    /// A plan with a repository (threads are kept beside checkpoints, so only such a plan's TODOs resume one).
    func repositoryPlan(_ todos: [Todo]) -> Plan {
        Plan(id: "p", title: "p", repository: "/srv/git/app.git", todos: todos)
    }

    /// One worker running p/a, the state in `directory` (or in memory).
    func running(in directory: TemporaryDirectory? = nil) throws -> (CoreHarness, AssignBody) {
        let harness = try CoreHarness(statePath: directory.map { $0.path + "/state.sqlite" } ?? ":memory:")
        try harness.register("w1")
        let assign = try #require(try harness.submit(repositoryPlan([Todo(id: "a", prompt: "make it", maxAttempts: 2)])).assigns().first)
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1))
        #expect(assign.task.resumeThread == nil, "a first session has no thread to resume")
        return (harness, assign)
    }

    @Test func aPausedTodosThreadIsKeptAcrossARestartAndSentWithItsNextAssignment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (harness, assign) = try running(in: directory)
        try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        let reported = try harness.report("w1", assign, .paused, threadId: Self.thread)
        let paused = try #require(reported.events.first { $0.type == .todoPaused })
        #expect(paused.data["thread_id"] == .string(Self.thread))
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.thread == Self.thread)

        try harness.restart()
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.thread == Self.thread, "stored with the TODO")
        try harness.register("w2")
        let resumed = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .resume))
        let again = try #require(try resumed.assigns(to: "w2").first)
        #expect(again.lease.epoch == 2)
        #expect(again.task.resumeThread == Self.thread)
        #expect(again.task.handover?.contains("An operator paused the session before this one") == true, "and told, for a fallback")
        // The assignment goes out through the wire codec's plain path and comes back the same.
        let codec = WireCodec()
        let decoded = try codec.body(AssignBody.self, from: codec.frames(Header(type: .assign, id: "m", seq: 1), again)[1])
        #expect(decoded.task.resumeThread == Self.thread)

        // A session that ends otherwise names no thread: the next one starts a new thread.
        let failed = try harness.report("w2", again, .failed)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.thread == nil)
        let retried = try #require(try failed.assigns(to: "w2").first, "retried at once")
        #expect(retried.lease.epoch == 3)
        #expect(retried.task.resumeThread == nil)
    }

    @Test func aParkedTodosThreadGoesWithItsAssignmentAtTheReset() throws {
        let (harness, assign) = try running()
        let resumeAt = harness.wallNow + 30_000
        let summary = "parked until \(CoordinatorCore.format(resumeAt)): usage limit"
        let sent = try harness.report("w1", assign, .parked, resumeAt: resumeAt, summary: summary, threadId: Self.thread)
        #expect(sent.events.first { $0.type == .todoParked }?.data["thread_id"] == .string(Self.thread))
        #expect(try harness.tick(advancing: 29_000).assigns().isEmpty)
        try harness.register("w1")  // silent meanwhile: it registers again
        let again = try #require(try harness.tick(advancing: 1000).assigns(to: "w1").first)
        #expect(again.lease.epoch == 2)
        #expect(again.task.resumeThread == Self.thread)
    }

    /// The thread stored at a checkpoint, named by its `thread` agent event: a lost worker's successor goes on on it,
    /// and a session handed back without naming one leaves it too.
    @Test func aThreadStoredAtACheckpointGoesToTheSuccessorOfALostWorker() throws {
        let (harness, assign) = try running()
        let stored = AgentEvent(kind: .thread, text: "codex thread \(Self.thread) stored in refs/drover/threads/p/a", thread: Self.thread)
        let progress = try harness.fromWorker("w1", .progress, ProgressBody(leaseId: assign.lease.leaseId, epoch: 1, events: [stored]))
        #expect(progress.events.first { $0.type == .agent(.thread) }?.data["thread_id"] == .string(Self.thread))
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.thread == Self.thread)

        let lost = try harness.tick(advancing: 60_000)
        #expect(lost.eventTypes.contains("todo.requeued"))
        let again = try #require(try harness.register("w2").assigns(to: "w2").first)
        #expect(again.lease.epoch == 2)
        #expect(again.task.resumeThread == Self.thread)

        try harness.fromWorker("w2", .accept, LeaseAnswerBody(leaseId: again.lease.leaseId, epoch: 2))
        let handedBack = try harness.report("w2", again, .handedBack)
        #expect(harness.core.todos[TodoKey(plan: "p", todo: "a")]?.facts.thread == Self.thread, "handed back, naming none")
        let third = try #require(try handedBack.assigns(to: "w2").first ?? harness.tick().assigns(to: "w2").first)
        #expect(third.task.resumeThread == Self.thread)
    }

    @Test func theThreadIdsOnTheWireAreValidated() throws {
        var report = ReportBody(
            leaseId: "p/a@1",
            epoch: 1,
            outcome: .paused,
            exitCode: nil,
            summary: "paused",
            outputTail: "",
            durationMs: 1,
            checks: [],
            threadId: "../../etc/passwd"
        )
        #expect(throws: ProtocolError.self) { try report.validate() }
        report.threadId = Self.thread
        try report.validate()
        let codec = WireCodec()
        let decoded = try codec.body(ReportBody.self, from: codec.frames(Header(type: .report, id: "m", seq: 1), report)[1])
        #expect(decoded.threadId == Self.thread)
        let bad = AgentEvent(kind: .thread, thread: "a b")
        #expect(throws: ProtocolError.self) { try ProgressBody(leaseId: "p/a@1", epoch: 1, events: [bad]).validate() }
        var task = TaskSpec(title: "t", command: nil, prompt: "go", timeoutSeconds: nil, checks: [])
        task.resumeThread = ""
        let lease = LeaseRef(leaseId: "p/a@2", plan: "p", todo: "a", epoch: 2)
        #expect(throws: ProtocolError.self) { try AssignBody(lease: lease, ttlMs: 1000, task: task).validate() }
    }
}
