import DroverProtocol
import DroverTransport
import Foundation
import Testing

/// The cluster core end to end: real `drover` processes over tcp loopback and ipc.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterTests {
    /// 50 TODOs in chains of five, each chain also waiting on the one before it.
    static func fiftyTodoPlan() -> Plan {
        let todos = (0..<50).map { index -> Todo in
            var dependsOn: [String] = []
            if index % 5 != 0 { dependsOn.append(String(format: "t%02d", index - 1)) }
            if index >= 5 { dependsOn.append(String(format: "t%02d", index - 5)) }
            return Todo(id: String(format: "t%02d", index), command: "echo $DROVER_TODO >> effects.log", dependsOn: dependsOn)
        }
        return Plan(id: "fifty", title: "Fifty", todos: todos)
    }

    @Test(arguments: Cluster.Transport.allCases)
    func fiftyTodosAcrossFourWorkersCompleteInDependencyOrder(transport: Cluster.Transport) async throws {
        try await Cluster.with(transport: transport) { cluster in
            try await cluster.startCoordinator()
            for index in 1...4 { try cluster.startWorker("w\(index)", slots: 2) }
            try await cluster.waitForStatus("four workers") { $0.workers.count == 4 }
            let plan = Self.fiftyTodoPlan()
            try await cluster.submit(plan)
            let status = try await cluster.waitForPlan("fifty")
            #expect(status.plans[0].counts == ["done": 50])

            let order = cluster.lines(of: "effects.log")
            #expect(order.count == 50, "every TODO ran exactly once")
            #expect(Set(order).count == 50)
            let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
            for todo in plan.todos {
                for dependency in todo.dependsOn {
                    #expect(position[dependency]! < position[todo.id]!, "\(todo.id) ran before its dependency \(dependency)")
                }
            }
            let doneBy = Set(try cluster.events().filter { $0.type == .todoDone }.compactMap(\.worker))
            #expect(doneBy.count >= 2, "work was spread over the workers: \(doneBy)")
        }
    }

    @Test func killedWorkersTodoIsReassignedAndCompletesExactlyOnce() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            try cluster.startWorker("w2")
            // Long enough to be killed in the middle; the side effect happens only at the end.
            let slow = Todo(id: "slow", command: "echo started >> starts.log; sleep 2; echo $DROVER_TODO >> effects.log")
            try await cluster.submit(Plan(id: "p", title: "p", todos: [slow]))
            let running = try await cluster.waitForStatus("slow to run") { status in
                status.todos.first?.state == .running && !cluster.lines(of: "starts.log").isEmpty
            }
            let victim = try #require(running.todos[0].worker)
            await cluster.killWorker(victim)

            let done = try await cluster.waitForPlan("p")
            #expect(cluster.lines(of: "effects.log") == ["slow"], "completed exactly once")
            #expect(cluster.lines(of: "starts.log").count == 2, "started on the victim, then again elsewhere")
            let requeued = try cluster.events().first { $0.type == .todoRequeued }
            #expect(requeued?.data["reason"]?.stringValue?.contains("lost") == true)
            #expect(try cluster.events().last { $0.type == .todoDone }?.worker != victim)
            #expect(done.todos[0].epoch == 2)

            // The victim's report for epoch 1, replayed, is refused and its sender told to abort.
            try await RawPeer.with(endpoint: endpoints.work, routingID: victim) { replay in
                _ = try await replay.request(
                    .register,
                    RegisterBody(worker: victim, host: "replay", slots: 1, labels: [], holding: []),
                    expecting: .welcome
                )
                let stale = ReportBody(
                    leaseId: "p/slow@1",
                    epoch: 1,
                    outcome: .succeeded,
                    exitCode: 0,
                    summary: "late",
                    outputTail: "",
                    durationMs: 1,
                    checks: []
                )
                let (header, body) = try await replay.request(.report, stale, expecting: .error)
                #expect(header.type == .error)
                let error = try WireCodec().body(ErrorBody.self, from: body)
                #expect(error.code == .staleLease)
                #expect(error.leaseId == "p/slow@1")
                #expect(try await cluster.status().counters["stale_refused"] == 1)
            }
        }
    }

    @Test func killedCoordinatorRestartsAndThePlanCompletesWithNothingLostOrDoubled() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            try cluster.startWorker("w2", slots: 2)
            // The first wave finishes; the rest wait at a gate the test opens only after the
            // restart, so "some done, some running" holds however slow the machine is.
            let todos = (0..<16).map { index in
                Todo(
                    id: "c\(index)",
                    command: index < 4
                        ? "echo $DROVER_TODO >> effects.log"
                        : "while [ ! -e gate ]; do sleep 0.05; done; echo $DROVER_TODO >> effects.log",
                    dependsOn: index >= 4 ? ["c\(index - 4)"] : []
                )
            }
            try await cluster.submit(Plan(id: "restart", title: "restart", todos: todos))
            try await cluster.waitForStatus("the first wave done and the second running") { status in
                let counts = status.plans.first?.counts ?? [:]
                return counts["done"] == 4 && (counts["running"] ?? 0) >= 1
            }
            await cluster.killCoordinator()
            try await cluster.startCoordinator()
            #expect(FileManager.default.createFile(atPath: "\(cluster.directory)/gate", contents: nil))
            try await cluster.waitForPlan("restart")
            let effects = cluster.lines(of: "effects.log")
            #expect(effects.count == 16, "no TODO lost or run twice: \(effects.sorted())")
            #expect(Set(effects) == Set(todos.map(\.id)))
            let events = try cluster.events()
            #expect(events.map(\.seq) == Array(1...Int64(events.count)), "the event log has no holes across the restart")
            #expect(events.filter { $0.type == .coordinatorStarted }.count == 2)
        }
    }

    @Test func workerSentSigtermFinishesShortWorkAndHandsBackLongWork() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let first = try cluster.startWorker("first", extra: ["--drain-timeout", "1"])
            try await cluster.submit(
                Plan(
                    id: "p",
                    title: "p",
                    todos: [
                        // Runs forever on its first assignment, then quickly: only a hand-back lets it finish.
                        Todo(
                            id: "long",
                            command: #"echo $DROVER_EPOCH >> starts.log; [ "$DROVER_EPOCH" = 1 ] && sleep 60; echo long >> effects.log"#
                        )
                    ]
                )
            )
            try await cluster.waitForStatus("long to run on first") { $0.todos.first?.state == .running }
            first.signal(SIGTERM)
            #expect(try await first.wait() == 0, "a drained worker exits cleanly")
            try await cluster.waitForStatus("long to be handed back") { $0.todos.first?.state == .ready }
            let second = try cluster.startWorker("second")
            try await cluster.waitForPlan("p")
            #expect(cluster.lines(of: "effects.log") == ["long"])
            let types = try cluster.events().map(\.type.rawValue)
            #expect(types.contains("todo.handed_back"))
            #expect(types.contains("worker.left"))

            // With time to finish, the worker finishes what it has before leaving.
            second.signal(SIGTERM)
            #expect(try await second.wait() == 0)
            let patient = try cluster.startWorker("patient", extra: ["--drain-timeout", "30"])
            try await cluster.submit(Plan(id: "q", title: "q", todos: [Todo(id: "short", command: "sleep 1; echo short >> effects.log")]))
            try await cluster.waitForStatus("short to run on patient") { status in
                status.todos.contains { $0.id == "short" && $0.state == .running && $0.worker == "patient" }
            }
            patient.signal(SIGTERM)
            #expect(try await patient.wait() == 0)
            let status = try await cluster.waitForPlan("q")
            #expect(status.plans.first { $0.id == "q" }?.counts == ["done": 1])
            #expect(try cluster.events().last { $0.type == .todoDone }?.worker == "patient")
        }
    }

    @Test func badFramesGetErrorRepliesWhileOtherWorkersKeepBeingServed() async throws {
        try await Cluster.with(transport: .ipc) { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("good")
            let plan = Plan(id: "p", title: "p", todos: (0..<20).map { Todo(id: "t\($0)", command: "sleep 0.05") })
            try await cluster.submit(plan)

            let cases: [([Data], ProtocolError.Code)] = [
                ([Data("lonely".utf8)], .badFrames),
                ([Data("{not json".utf8), Data("{}".utf8)], .badJSON),
                ([Data(#"{"v":9,"type":"heartbeat","id":"a","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unsupportedVersion),
                ([Data(#"{"v":1,"type":"explode","id":"b","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unknownType),
                (
                    [Data(#"{"v":1,"type":"register","id":"c","seq":1,"ts":0}"#.utf8), Data(#"{"worker":"rogue","slots":"many"}"#.utf8)],
                    .badField
                ),
                ([Data(#"{"v":1,"type":"register","id":"d","seq":1,"ts":0}"#.utf8), Data(repeating: 120, count: 2 << 20)], .tooLarge),
                ([Data(#"{"v":1,"type":"report","id":"e","seq":1,"ts":0}"#.utf8), Data("{}".utf8)], .unknownWorker),
            ]
            try await RawPeer.with(endpoint: endpoints.work, routingID: "rogue") { rogue in
                for (frames, code) in cases {
                    var reply: ErrorBody?
                    // The first frames may be dropped while the connection comes up; offer each until it is answered.
                    for _ in 0..<20 where reply == nil {
                        rogue.send(frames)
                        if let answer = await rogue.next(timeout: .milliseconds(500)), answer.count == 2 {
                            reply = try? WireCodec().body(ErrorBody.self, from: answer[1])
                        }
                    }
                    #expect(reply?.code == code, "frames \(frames.map(\.count)) got \(String(describing: reply))")
                }
            }

            // A frame above the socket's size limit: libzmq drops that connection; nobody else notices.
            let status = try await RawPeer.with(endpoint: endpoints.work, routingID: "flood") { flood in
                flood.send([Data("{}".utf8), Data(repeating: 0, count: 5 << 20)])
                return try await cluster.waitForPlan("p")
            }
            #expect(status.plans[0].counts == ["done": 20])
            for (_, code) in cases { #expect(status.counters["rejected.\(code)", default: 0] >= 1, "\(code) counted") }
            #expect(status.workers.map(\.id) == ["good"])
        }
    }

    @Test func anOperatorRetriesAFailedTodoFromTheCommandLine() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            // Fails until the operator has fixed things (made the flag file).
            let todos = [Todo(id: "a", command: "test -f fixed"), Todo(id: "b", command: "echo b >> effects.log", dependsOn: ["a"])]
            try await cluster.submit(Plan(id: "ops", title: "ops", todos: todos))
            try await cluster.waitForPlan("ops", toBe: .failed)
            try "".write(toFile: "\(cluster.directory)/fixed", atomically: true, encoding: .utf8)
            let retry = try TestProcess(
                name: "retry",
                arguments: ["todo", "retry", "ops/a", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await retry.wait() == 0, "\(retry.output)")
            #expect(retry.output.contains("retried"))
            try await cluster.waitForPlan("ops")
            #expect(cluster.lines(of: "effects.log") == ["b"], "the skipped dependent ran too")
            let show = try TestProcess(
                name: "show",
                arguments: ["todo", "show", "ops/a", "--json", "--control", endpoints.control],
                directory: cluster.directory
            )
            try await show.wait()
            let reply = try JSONDecoder().decode(TodoReply.self, from: Data(show.output.utf8))
            #expect(reply.todo.state == .done)
            #expect(reply.events.contains { $0.type == .todoRetried })
            let bad = try TestProcess(
                name: "bad",
                arguments: ["todo", "retry", "nonsense", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await bad.wait() != 0)
            #expect(bad.output.contains("PLAN/TODO"))
        }
    }

    @Test func operatorsPauseAndResumeAPlanAndListWorkers() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try await cluster.submit(Plan(id: "held", title: "held", todos: [Todo(id: "a", command: "echo a >> effects.log")]))
            let pause = try TestProcess(
                name: "pause",
                arguments: ["plan", "pause", "held", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await pause.wait() == 0)
            #expect(pause.output.contains("plan held [running, paused]"))
            try cluster.startWorker("w1")
            try await cluster.waitForStatus("w1 to register") { $0.workers.count == 1 }
            let workers = try TestProcess(
                name: "workers",
                arguments: ["workers", "--json", "--control", endpoints.control],
                directory: cluster.directory
            )
            try await workers.wait()
            #expect(try JSONDecoder().decode([StatusBody.WorkerStatus].self, from: Data(workers.output.utf8)).map(\.id) == ["w1"])
            #expect(try await cluster.status().todos.first?.state == .ready, "nothing starts while the plan is paused")
            let resume = try TestProcess(
                name: "resume",
                arguments: ["plan", "resume", "held", "--control", endpoints.control],
                directory: cluster.directory
            )
            #expect(try await resume.wait() == 0)
            try await cluster.waitForPlan("held")
            #expect(cluster.lines(of: "effects.log") == ["a"])
        }
    }

    @Test func reviewNamesTheFailedTodoAsTheStepThatUnblocksMost() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            let todos = [
                Todo(id: "ok", command: "true"), Todo(id: "broken", command: "exit 3"),
                Todo(id: "after", command: "true", dependsOn: ["broken"]),
            ]
            try await cluster.submit(Plan(id: "rv", title: "review me", todos: todos))
            try await cluster.waitForPlan("rv", toBe: .failed)
            func review(_ arguments: [String]) async throws -> (status: Int32, output: String) {
                let process = try TestProcess(
                    name: "review",
                    arguments: ["review", "--control", endpoints.control] + arguments,
                    directory: cluster.directory
                )
                let status = try await process.wait()
                return (status, process.output)
            }
            let json = try await review(["--json"])
            #expect(json.status == 0, "\(json.output)")
            let body = try JSONDecoder().decode(ReviewBody.self, from: Data(json.output.utf8))
            #expect(body.progress == ReviewBody.Progress(total: 3, done: 1, running: 0, queued: 0, stopped: 2, waitingOnHuman: 0))
            #expect(body.branches.map(\.branch) == ["drover/rv/ok", "drover/rv/broken", "drover/rv/after"])
            #expect(body.bottlenecks.first { $0.kind == "blocking" }?.todo == "rv/broken")
            #expect(body.nextSteps.first?.action == "look into rv/broken and retry it")
            #expect(body.eta == nil && body.etaNote == "nothing is left to do")
            let markdown = try await review(["--format", "markdown"])
            #expect(markdown.output.contains("## Next steps"))
            #expect(markdown.output.contains("1. look into rv/broken and retry it"))
            let unknown = try await review(["--plan", "nope"])
            #expect(unknown.status != 0)
            #expect(unknown.output.contains("no plan nope"))
            let answer = try cluster.start("answer", ["answer", "rv/ok", "yes", "--control", endpoints.control])
            #expect(try await answer.wait() != 0)
            #expect(answer.output.contains("nothing of rv/ok waits in the inbox"), "\(answer.output)")
            // The audit log in the state directory has the decision, with the report's summary as its reason.
            let audit = try #require(cluster.lines(of: "state/audit.jsonl").first { $0.contains(#""decision":"todo.failed""#) })
            #expect(audit.contains(#""todo":"broken""#) && audit.contains(#""reason":"command exited with status 3""#), "\(audit)")
        }
    }
}
