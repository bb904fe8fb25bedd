import DroverProtocol
import Foundation
import Testing

@testable import Coordinator

/// The operator's voice in a live session: `steer`, `pause` and `resume` of one TODO.
@Suite struct SteerTests {
    /// A harness with one worker running p/a, a codex TODO, and p/b waiting for it.
    private func running() throws -> (CoreHarness, AssignBody) {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try #require(
            try harness.submit(plan([Todo(id: "a", prompt: "make it"), Todo(id: "b", prompt: "then this", dependsOn: ["a"])])).assigns()
                .first
        )
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1))
        #expect(harness.state("p", "a") == "running")
        return (harness, assign)
    }

    @Test func steeringARunningTodoSendsItsWorkerTheTextAndRecordsIt() throws {
        let (harness, assign) = try running()
        let sent = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .steer, text: "use the v2 API", by: "ana"))
        let control = try #require(sent.first { $0.header?.type == .control && $0.to == "w1" }).decode(ControlBody.self)
        #expect(control.action == .steer)
        #expect(control.text == "use the v2 API")
        #expect(control.leaseId == assign.lease.leaseId)
        let event = try #require(sent.events.first { $0.type == .todoSteered })
        #expect(event.data["text"]?.stringValue == "use the v2 API")
        #expect(event.data["by"]?.stringValue == "ana")
        #expect(event.worker == "w1")
        #expect(try sent.first { $0.header?.type == .todo }?.decode(TodoReply.self).todo.state == .running)
    }

    @Test func aTodoNotRunningIsNotSteeredAndTheRefusalNamesItsState() throws {
        let (harness, _) = try running()
        let waiting = try harness.control(.todo, TodoRequest(plan: "p", todo: "b", action: .steer, text: "hello"))
        let message = try #require(try waiting.errors().first).message
        #expect(message.contains("p/b is pending"))
        #expect(message.contains("only a running TODO can be steered"))
        #expect(!waiting.contains { $0.header?.type == .control })
        let unknown = try harness.control(.todo, TodoRequest(plan: "p", todo: "zz", action: .steer, text: "hello"))
        #expect(try unknown.errors().first?.message.contains("no TODO p/zz") == true)
    }

    @Test func aCommandTodoIsNotSteered() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try #require(try harness.submit(plan([Todo(id: "a", command: "sleep 9")])).assigns().first)
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1))
        let refused = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .steer, text: "hello"))
        #expect(try refused.errors().first?.message.contains("runs a command, not a codex session") == true)
    }

    @Test func steerTextIsValidated() throws {
        #expect(throws: ProtocolError.self) { try TodoRequest(plan: "p", todo: "a", action: .steer, text: "  ").validate() }
        #expect(throws: ProtocolError.self) { try TodoRequest(plan: "p", todo: "a", action: .steer).validate() }
        let big = String(repeating: "x", count: TodoRequest.maxSteerBytes + 1)
        #expect(throws: ProtocolError.self) { try TodoRequest(plan: "p", todo: "a", action: .steer, text: big).validate() }
        try TodoRequest(plan: "p", todo: "a", action: .steer, text: String(repeating: "x", count: TodoRequest.maxSteerBytes)).validate()
    }

    @Test func pauseStopsTheSessionAfterItsTurnThenResumeMakesItReadyOnTheSameBranch() throws {
        let (harness, assign) = try running()
        let asked = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        let control = try #require(asked.first { $0.header?.type == .control }).decode(ControlBody.self)
        #expect(control.action == .pause)
        #expect(asked.eventTypes.contains("todo.pause_requested"))
        #expect(harness.state("p", "a") == "running")

        // The worker reports the session paused: the TODO waits, its slot free, nothing else starts in its place.
        let reported = try harness.report("w1", assign, .paused)
        #expect(reported.eventTypes.contains("todo.paused"))
        #expect(harness.state("p", "a") == "paused")
        #expect(harness.state("p", "b") == "pending")
        #expect(harness.core.workers["w1"]?.freeSlots == 1)
        #expect(try reported.assigns().isEmpty)
        #expect(harness.core.todos.plans["p"]?.state == .running)
        let steerPaused = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .steer, text: "hi"))
        #expect(try steerPaused.errors().first?.message.contains("it is paused: `drover todo resume` first") == true)

        let resumed = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .resume))
        // (The guidance sent before the pause is said again to the new session: see the handover test.)
        #expect(resumed.eventTypes.contains("todo.resumed"))
        let again = try #require(try resumed.assigns(to: "w1").first)
        #expect(again.lease.epoch == 2)
        #expect(again.task.branch == assign.task.branch)
        #expect(again.task.handover?.contains("An operator paused the session before this one") == true)
        try harness.report("w1", again)
        #expect(harness.state("p", "a") == "done")
    }

    @Test func aReadyTodoIsPausedAtOnceAndOnlyAPausedOneIsResumed() throws {
        let harness = try CoreHarness()
        try harness.submit(plan([Todo(id: "a", prompt: "make it")]))
        let paused = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        #expect(paused.eventTypes.contains("todo.paused"))
        #expect(try harness.register("w1").assigns().isEmpty)
        let notPaused = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        #expect(try notPaused.errors().first?.message.contains("p/a is paused") == true)
        let resumed = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .resume))
        #expect(try resumed.assigns(to: "w1").count == 1)
        let again = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .resume))
        #expect(try again.errors().first?.message.contains("only a paused TODO can be resumed") == true)
    }
}

@Suite struct SteerHandoverTests {
    @Test func theNextSessionIsToldItWasPausedAndWhatTheOperatorSaid() throws {
        let events = [
            Event(seq: 1, ts: 1, type: .todoRunning, plan: "p", todo: "a", worker: "w1"),
            Event(seq: 2, ts: 2, type: .todoSteered, plan: "p", todo: "a", worker: "w1", data: ["text": "use the v2 API"]),
            Event(seq: 3, ts: 3, type: .agent(.message), plan: "p", todo: "a", worker: "w1", data: ["text": "Half done."]),
            Event(seq: 4, ts: 4, type: .todoPaused, plan: "p", todo: "a", worker: "w1"),
        ]
        let note = try #require(Handover.note(of: events))
        #expect(note.hasPrefix("An operator paused the session before this one after its turn"))
        #expect(note.contains("What the operator told the sessions before (it still holds):\n- use the v2 API"))
        #expect(note.hasSuffix("- said: Half done."))
        let running = events.dropLast() + [Event(seq: 5, ts: 5, type: .todoRunning, plan: "p", todo: "a", worker: "w2")]
        #expect(Handover.note(of: Array(running))?.contains("paused") == false, "a session lost, not paused")
    }

    @Test func aTodoBackInTheQueueBeforeItPausedWaitsPaused() throws {
        let harness = try CoreHarness()
        try harness.register("w1")
        let assign = try #require(try harness.submit(plan([Todo(id: "a", prompt: "make it")])).assigns().first)
        try harness.fromWorker("w1", .accept, LeaseAnswerBody(leaseId: assign.lease.leaseId, epoch: 1))
        try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        let handedBack = try harness.report("w1", assign, .handedBack)
        #expect(handedBack.eventTypes.contains("todo.paused"))
        #expect(harness.state("p", "a") == "paused")
        #expect(try handedBack.assigns().isEmpty)
    }
}

@Suite struct PausedAcrossRestartTests {
    @Test func aPausedTodoStaysPausedAcrossARestartAndIsResumedAfterIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drover-todo-pause-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let harness = try CoreHarness(statePath: directory.appendingPathComponent("state.sqlite").path)
        try harness.submit(plan([Todo(id: "a", prompt: "make it"), Todo(id: "b", prompt: "then", dependsOn: ["a"])]))
        try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .pause))
        try harness.restart()
        #expect(harness.state("p", "a") == "paused")
        #expect(try harness.register("w1").assigns().isEmpty)
        #expect(harness.core.todos.plans["p"]?.state == .running)
        let resumed = try harness.control(.todo, TodoRequest(plan: "p", todo: "a", action: .resume))
        let assign = try #require(try resumed.assigns(to: "w1").first)
        let next = try harness.report("w1", assign)
        try harness.report("w1", try #require(try next.assigns().first))
        #expect(harness.core.todos.plans["p"]?.state == .done)
    }
}
