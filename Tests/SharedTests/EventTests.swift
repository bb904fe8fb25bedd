import DroverProtocol
import Foundation
import Testing

@Suite struct EventTests {
    @Test(arguments: [
        (Event(seq: 1, ts: 0, type: .todoAssigned, plan: "p1", todo: "build", worker: "w1"), "todo.p1.build"),
        (Event(seq: 1, ts: 0, type: .todoDone, plan: "p1", todo: "t-2"), "todo.p1.t-2"),
        (Event(seq: 1, ts: 0, type: .agent(.output), plan: "p1", todo: "build", worker: "w1"), "agent.p1.build"),
        (Event(seq: 1, ts: 0, type: .workerLost, worker: "w1"), "worker.w1"),
        (Event(seq: 1, ts: 0, type: EventType(rawValue: "worker.registered"), plan: "p1", worker: "w-2"), "worker.w-2"),
        (Event(seq: 1, ts: 0, type: .planSubmitted, plan: "p1"), "plan.p1"),
        (Event(seq: 1, ts: 0, type: EventType(rawValue: "plan.finished"), plan: "p1", todo: "ignored"), "plan.p1"),
        (Event(seq: 1, ts: 0, type: .coordinatorStarted), "coordinator"),
        (Event(seq: 1, ts: 0, type: EventType(rawValue: "coordinator")), "coordinator"),
        (Event(seq: 1, ts: 0, type: EventType(rawValue: "lease.expired"), plan: "p1", todo: "build", worker: "w1"), "lease"),
    ])
    func topic(event: Event, expected: String) {
        #expect(event.topic == expected)
    }

    @Test func missingPartsBecomeDashes() {
        #expect(Event(seq: 1, ts: 0, type: .todoAssigned).topic == "todo.-.-")
        #expect(Event(seq: 1, ts: 0, type: .agent(.output), plan: "p").topic == "agent.p.-")
        #expect(Event(seq: 1, ts: 0, type: .workerLost).topic == "worker.-")
        #expect(Event(seq: 1, ts: 0, type: .planFailed).topic == "plan.-")
    }

    @Test func topicsFilterByPrefix() {
        let build = Event(seq: 1, ts: 0, type: .todoDone, plan: "p1", todo: "build").topic
        let buildAll = Event(seq: 2, ts: 0, type: .todoDone, plan: "p1", todo: "build-all").topic
        // Subscribing to "todo.p1." sees the whole plan; a plan whose id extends p1 is not matched.
        #expect(build.hasPrefix("todo.p1."))
        #expect(!Event(seq: 3, ts: 0, type: .todoDone, plan: "p10", todo: "x").topic.hasPrefix("todo.p1."))
        #expect(buildAll.hasPrefix("todo.p1.build"))
    }

    @Test func roundTripsAsJSON() throws {
        let event = Event(
            seq: 7,
            ts: 1_700_000_000_000,
            type: .todoFailed,
            plan: "p1",
            todo: "build",
            worker: "w1",
            data: ["exit_code": 2, "reason": "check failed", "retry": true, "nested": .object(["list": .array([.null, .double(1.5)])])]
        )
        let codec = WireCodec()
        let data = codec.json(event)
        #expect(try codec.decode(Event.self, from: data) == event)
    }
}
