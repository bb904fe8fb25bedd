import DroverClients
import DroverProtocol
import Foundation
import Testing

/// The screen `drover watch` draws.
@Suite struct FleetViewTests {
    func status(running: Bool) -> StatusBody {
        StatusBody(
            instance: "c1",
            seq: 9,
            plans: [
                .init(
                    id: "p",
                    title: "P",
                    state: .running,
                    counts: ["done": 1, running ? "running" : "ready": 1],
                    submittedAt: 0,
                    finishedAt: nil
                )
            ],
            todos: [
                .init(plan: "p", id: "a", title: "A", state: .done, epoch: 1, worker: nil, attempts: 0, detail: nil),
                .init(
                    plan: "p",
                    id: "b",
                    title: "B",
                    state: running ? .running : .ready,
                    epoch: 1,
                    worker: "w1",
                    attempts: 0,
                    detail: nil
                ),
            ],
            workers: [.init(id: "w1", host: "h", slots: 2, labels: [], running: ["p/b@1"], draining: false, lastSeenMsAgo: 40)],
            counters: [:]
        )
    }

    @Test func showsWorkersRunningTodosWithTheirLatestActivityAndFitsTheScreen() {
        var view = FleetView()
        view.update(status: status(running: true), inbox: 2)
        view.apply(Event(seq: 8, ts: 1_000, type: .todoRunning, plan: "p", todo: "b", worker: "w1"))
        view.apply(
            Event(
                seq: 9,
                ts: 2_000,
                type: .agent(.output),
                plan: "p",
                todo: "b",
                worker: "w1",
                data: ["kind": "output", "text": "step 1\nstep 2\n"]
            )
        )
        let lines = view.render(columns: 60, rows: 40, now: 62_000)
        #expect(lines.contains("plans: p [running] 1/2"))
        #expect(lines.contains("inbox: 2 waiting for a human (drover inbox)"))
        #expect(lines.contains("  w1 on h: 1/2 busy, seen 40 ms ago"))
        #expect(lines.contains("  p/b on w1 · 1 min 1 s · output: step 2"), "\(lines)")
        #expect(lines.contains("  #9 agent.output p/b @w1: step 1 step 2 "))
        #expect(lines.allSatisfy { $0.count <= 60 })
        let small = view.render(columns: 30, rows: 8, now: 62_000)
        #expect(small.count == 8)
        #expect(small.allSatisfy { $0.count <= 30 })
    }

    @Test func finishedTodosLeaveTheRunningList() {
        var view = FleetView()
        view.update(status: status(running: true), inbox: 0)
        view.apply(Event(seq: 9, ts: 2_000, type: .agent(.output), plan: "p", todo: "b", worker: "w1", data: ["text": "x"]))
        #expect(view.activity["p/b"] != nil)
        view.update(status: status(running: false), inbox: 0)
        #expect(view.activity.isEmpty)
        #expect(view.render(columns: 80, rows: 40).contains("RUNNING (0)"))
    }

    @Test func jobsUnderWayAndTheirMovesAreShown() {
        var view = FleetView()
        let jobs = (1...5).map { index in
            JobView(
                id: "j\(index)",
                goal: "g",
                repository: "/r",
                state: index == 5 ? .permissionNegotiate : .done,
                reason: index == 5 ? "the plan needs 1 permission(s)" : "all done",
                createdAt: 0,
                updatedAt: 0
            )
        }
        view.update(status: status(running: false), inbox: 1, jobs: jobs)
        view.apply(
            Event(seq: 10, ts: 0, type: .jobTransition, plan: "j5", data: ["from": "plan", "to": "permission_negotiate", "reason": "asks"])
        )
        let lines = view.render(columns: 100, rows: 40)
        #expect(lines.contains("JOBS (1 under way)"))
        #expect(lines.contains("  j5 [permission_negotiate] the plan needs 1 permission(s)"))
        #expect(lines.filter { $0.hasPrefix("  j") && $0.contains("[done]") }.count == 3, "the last three that ended")
        #expect(lines.contains("  #10 job.transition j5: plan → permission_negotiate: asks"))
    }
}

/// A TODO parked by a usage limit, as `drover watch` and `drover status` show it.
@Suite struct ParkedTodoViewTests {
    static let resumeAt: Int64 = 1_900_000_000_000  // 2030-03-17T17:46:40Z
    static let utc = TimeZone(identifier: "UTC")!

    func waiting() -> StatusBody.TodoStatus {
        .init(
            plan: "p",
            id: "a",
            title: "A",
            state: .waiting,
            epoch: 1,
            worker: nil,
            attempts: 0,
            detail: "parked until 2030-03-17T17:46:40Z: You've hit your usage limit.",
            resumeAt: Self.resumeAt
        )
    }

    @Test func itSaysWhenItResumesInTheViewersTime() {
        let sameDay = Date(timeIntervalSince1970: 1_900_000_000 - 3600)
        #expect(waiting().resumeNote(now: sameDay, timeZone: Self.utc) == "resumes at 17:46")
        #expect(waiting().resumeNote(now: sameDay, timeZone: TimeZone(identifier: "Europe/Paris")!) == "resumes at 18:46")
        let dayBefore = Date(timeIntervalSince1970: 1_900_000_000 - 86_400)
        #expect(waiting().resumeNote(now: dayBefore, timeZone: Self.utc) == "resumes at 2030-03-17 17:46")
        var ready = waiting()
        ready.state = .ready
        #expect(ready.resumeNote() == nil)
    }

    @Test func watchListsWaitingTodos() {
        var view = FleetView()
        view.update(
            status: StatusBody(instance: "c1", seq: 1, plans: [], todos: [waiting()], workers: [], counters: [:]),
            inbox: 0
        )
        let lines = view.render(columns: 200, rows: 40, now: Self.resumeAt - 60_000)
        #expect(lines.contains("WAITING (1)"))
        #expect(lines.contains { $0.hasPrefix("  p/a · resumes at ") && $0.contains("usage limit") })
    }
}
