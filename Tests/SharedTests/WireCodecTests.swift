import DroverProtocol
import Foundation
import Testing

/// One body to send through the codec and back, named for the test report.
struct BodySample: Sendable, CustomTestStringConvertible {
    let type: MessageType
    let name: String
    /// Encodes the body with a header of `type`, decodes both, and checks they come back equal.
    let roundTrip: @Sendable (WireCodec, Header) throws -> Void
    /// The body as JSON on the wire.
    let json: @Sendable (WireCodec) -> Data

    init<Body: WireBody & Equatable>(_ type: MessageType, _ body: Body) {
        self.type = type
        self.name = "\(type.rawValue): \(Body.self)"
        roundTrip = { codec, header in
            let frames = codec.frames(header, body)
            try #require(frames.count == 2)
            #expect(try codec.header(from: frames[0]) == header)
            #expect(try codec.body(Body.self, from: frames[1]) == body)
        }
        json = { codec in codec.json(body) }
    }

    var testDescription: String { name }
}

@Suite struct WireCodecTests {
    static let lease = LeaseRef(leaseId: "lease-7f3a", plan: "release-1", todo: "build", epoch: 3)

    static let samples: [BodySample] = [
        BodySample(
            .register,
            RegisterBody(worker: "w-1", host: "box.local", slots: 4, labels: ["linux", "gpu"], holding: [lease], draining: true)
        ),
        BodySample(.register, RegisterBody(worker: "w-2", host: "h", slots: 1, labels: [], holding: [])),
        BodySample(.welcome, WelcomeBody(instance: "c-9", heartbeatMs: 1000, leaseTtlMs: 15000, abort: ["lease-1", "lease-2"])),
        BodySample(.heartbeat, HeartbeatBody(leases: ["lease-7f3a"], draining: false)),
        BodySample(.heartbeat, HeartbeatBody(instance: "c-9")),
        BodySample(.heartbeat, HeartbeatBody()),
        BodySample(
            .assign,
            AssignBody(
                lease: lease,
                ttlMs: 15000,
                task: TaskSpec(
                    title: "Build it",
                    command: "make -j4",
                    prompt: "Build the app",
                    timeoutSeconds: 600.5,
                    checks: [
                        Check(command: "make test", timeoutSeconds: 120),
                        Check(file: "out/app"),
                        Check(file: "CHANGELOG.md", pattern: #"## 1\.0"#),
                    ]
                )
            )
        ),
        BodySample(
            .assign,
            AssignBody(lease: lease, ttlMs: 1, task: TaskSpec(title: "t", command: nil, prompt: nil, timeoutSeconds: nil, checks: []))
        ),
        BodySample(.accept, LeaseAnswerBody(leaseId: "lease-7f3a", epoch: 3)),
        BodySample(.reject, LeaseAnswerBody(leaseId: "lease-7f3a", epoch: 3, reason: "draining")),
        BodySample(
            .progress,
            ProgressBody(
                leaseId: "lease-7f3a",
                epoch: 3,
                events: [
                    AgentEvent(kind: .started),
                    AgentEvent(kind: .output, stream: "stdout", text: "compiling…\n"),
                    AgentEvent(kind: .output, stream: "stderr", text: "warning: \"quoted\" / slashed\n"),
                ]
            )
        ),
        BodySample(
            .report,
            ReportBody(
                leaseId: "lease-7f3a",
                epoch: 3,
                outcome: .failed,
                exitCode: 2,
                summary: "check failed",
                outputTail: "line 1\nline 2\n",
                durationMs: 12_345,
                checks: [
                    CheckResult(check: "command `make test`", passed: false, detail: "exit 2"),
                    CheckResult(check: "file out/app exists", passed: true, detail: "exists"),
                ]
            )
        ),
        BodySample(
            .report,
            ReportBody(
                leaseId: "l",
                epoch: 1,
                outcome: .timedOut,
                exitCode: nil,
                summary: "",
                outputTail: "",
                durationMs: 0,
                checks: []
            )
        ),
        BodySample(.ack, AckBody(ref: "msg-1", leaseId: "lease-7f3a")),
        BodySample(.ack, AckBody(ref: "msg-2")),
        BodySample(.control, ControlBody(action: .cancel, leaseId: "lease-7f3a", reason: "operator asked")),
        BodySample(.control, ControlBody(action: .abort, leaseId: "lease-7f3a", reason: "stale")),
        BodySample(.bye, ByeBody(reason: "shutting down")),
        BodySample(
            .recover,
            RecoverBody(
                leaseId: "lease-7f3a",
                epoch: 3,
                item: "r1",
                detection: .stoppedEarly,
                proposal: "repair: continue the same thread with the failing checks",
                evidence: "the turn ended with checks failing"
            )
        ),
        BodySample(
            .recovery,
            RecoveryBody(
                ref: "w-1-17",
                leaseId: "lease-7f3a",
                item: "r1",
                detection: .stoppedEarly,
                decision: .recover,
                reason: nil,
                count: 1,
                limit: 3
            )
        ),
        BodySample(.ask, AskBody(leaseId: "lease-7f3a", epoch: 3, item: "q1", kind: .approval, text: "codex asks to run: rm -rf build")),
        BodySample(
            .control,
            ControlBody(action: .answer, leaseId: "lease-7f3a", reason: "an operator answered", item: "q1", decision: .approve)
        ),
        BodySample(.inbox, EmptyBody()),
        BodySample(
            .inbox,
            InboxBody(items: [
                InboxItem(id: "w-1-q1", plan: "p", todo: "t", worker: "w-1", kind: .approval, text: "rm -rf build", askedAt: 1)
            ])
        ),
        BodySample(.answer, AnswerBody(item: "w-1-q1", decision: .reply, text: "use MIT")),
        BodySample(.events, EventsRequest(after: 120, limit: 1000)),
        BodySample(.todo, TodoRequest(plan: "p", todo: "t", action: .retry)),
        BodySample(.plan, PlanRequest(plan: "p", action: .pause)),
        BodySample(.review, ReviewRequest(plan: "p")),
        BodySample(
            .review,
            ReviewBody(
                generatedAt: 1,
                progress: .init(total: 2, done: 1, queued: 1),
                plans: [],
                branches: [.init(todo: "p/a", branch: "drover/p/a", state: .done, files: 2, seconds: 1.5)],
                velocity: .init(finished: 1, windowSeconds: 60, perHour: 60),
                eta: nil,
                etaNote: "no TODO has finished yet",
                bottlenecks: [.init(kind: "blocking", todo: "p/b", value: 1, reason: "1 TODO waits for it")],
                risks: [],
                nextSteps: [.init(rank: 1, action: "start a worker", command: "drover worker", reason: "no worker")]
            )
        ),
        BodySample(
            .plan,
            StatusBody.PlanStatus(
                id: "p",
                title: "P",
                state: .running,
                counts: ["ready": 2],
                submittedAt: 1,
                finishedAt: nil,
                paused: true
            )
        ),
        BodySample(
            .todo,
            TodoReply(
                todo: .init(plan: "p", id: "t", title: "T", state: .ready, epoch: 2, worker: nil, attempts: 0, detail: "retried"),
                events: []
            )
        ),
        BodySample(
            .events,
            EventsBody(
                events: [Event(seq: 121, ts: 5, type: .todoDone, plan: "p", todo: "t", data: ["outcome": "succeeded"])],
                lastSeq: 121
            )
        ),
        BodySample(.error, ErrorBody(code: .staleLease, message: "abort it", ref: "msg-3", leaseId: "lease-7f3a")),
        BodySample(.error, ErrorBody(code: .badJSON, message: "not JSON")),
        BodySample(.status, EmptyBody()),
        BodySample(
            .submit,
            SubmitBody(
                plan: Plan(
                    id: "release-1",
                    title: "Release 1",
                    todos: [
                        Todo(id: "fetch", command: "git fetch"),
                        Todo(
                            id: "build",
                            title: "Build",
                            prompt: "Build it",
                            command: "make",
                            dependsOn: ["fetch"],
                            labels: ["linux"],
                            checks: [Check(command: "make test"), Check(file: "out/app", pattern: "ELF")],
                            risk: .critical,
                            budget: Budget(wallSeconds: 3600, turns: 20, tokens: 2_000_000),
                            timeoutSeconds: 600,
                            maxAttempts: 3
                        ),
                    ]
                )
            )
        ),
        BodySample(.submit, SubmittedBody(plan: "release-1", created: false)),
        BodySample(
            .status,
            StatusBody(
                instance: "c-9",
                seq: 42,
                plans: [
                    .init(id: "release-1", title: "R", state: .running, counts: ["done": 1, "ready": 2], submittedAt: 1, finishedAt: nil)
                ],
                todos: [
                    .init(plan: "release-1", id: "build", title: "B", state: .assigned, epoch: 3, worker: "w-1", attempts: 1, detail: nil)
                ],
                workers: [
                    .init(
                        id: "w-1",
                        host: "h",
                        slots: 2,
                        labels: ["linux"],
                        running: ["release-1/build"],
                        draining: false,
                        lastSeenMsAgo: 120
                    )
                ],
                counters: ["rejected.bad_field": 2, "lease_expired": 1]
            )
        ),
        BodySample(
            .job,
            JobRequest(action: .start, job: "rate-limits", goal: "add rate limiting", repository: "/srv/app.git", base: "main")
        ),
        BodySample(.job, JobRequest(action: .show, job: "rate-limits")),
        BodySample(
            .job,
            JobsBody(jobs: [
                JobView(
                    id: "rate-limits",
                    goal: "add rate limiting",
                    repository: "/srv/app.git",
                    state: .permissionNegotiate,
                    reason: "the plan needs 1 permission(s) an operator must grant",
                    createdAt: 1_700_000_000_000,
                    updatedAt: 1_700_000_060_000,
                    transitions: [
                        JobTransition(from: nil, to: .classify, reason: "started from a goal", at: 1_700_000_000_000),
                        JobTransition(
                            from: .classify,
                            to: .plan,
                            reason: "needs no investigation",
                            evidence: ["kind": "commands"],
                            at: 1_700_000_030_000
                        ),
                    ]
                )
            ])
        ),
        BodySample(.merge, MergeRequest(plan: "release", todo: "docs", action: .skip, reason: "we keep main's docs")),
        BodySample(.merge, MergeReply(plan: "release", todo: "docs", state: .skipped)),
        BodySample(.planReport, ReportRequest(plan: "release")),
        BodySample(.rollback, RollbackRequest(plan: "release", step: .check, tag: "drover/release/after-docs")),
        BodySample(
            .rollback,
            RollbackReply(
                plan: "release",
                repository: "/srv/app.git",
                branch: "drover/release/integration",
                tag: "drover/release/after-docs",
                expect: "abc123",
                undone: ["api"]
            )
        ),
        BodySample(
            .planReport,
            PlanReport(
                plan: "release",
                title: "Release",
                state: .done,
                generatedAt: 1_700_000_000_000,
                todos: [
                    .init(
                        id: "docs",
                        title: "Docs",
                        state: .done,
                        detail: "codex finished in 2 turns",
                        attempts: 0,
                        recoveries: ["hung": 1],
                        tokens: 1200,
                        durationMs: 5000,
                        files: ["README.md"],
                        checks: ["command `make docs`"],
                        merge: "done"
                    )
                ],
                integration: .init(
                    branch: "drover/release/integration",
                    head: "abc123",
                    merged: ["docs"],
                    leftOut: [:],
                    tags: ["drover/release/base", "drover/release/after-docs"],
                    checks: ["command `make docs`"]
                ),
                nextSteps: [.init(rank: 1, action: "review and merge the branches", command: nil, reason: "every TODO has ended")]
            )
        ),
        BodySample(.policy, PolicyRequest(action: .forget, repository: "/srv/app.git", grant: "network")),
        BodySample(
            .policy,
            PolicyBody(rules: [
                PolicyRule(repository: "/srv/app.git", grant: "network", decision: .deny, decidedAt: 1_700_000_000_000, job: "rate-limits")
            ])
        ),
        BodySample(
            .answer,
            AnswerBody(item: "rate-limits-permissions-1", decision: .approve, grants: ["risk:high"], replan: false, remember: true)
        ),
    ]

    let codec = WireCodec()

    // MARK: - Round trips

    @Test(arguments: WireCodecTests.samples) func roundTrip(sample: BodySample) throws {
        try sample.roundTrip(codec, Header(type: sample.type, id: "msg-\(sample.type.rawValue)", seq: 17, ts: 1_700_000_000_123))
    }

    @Test func everyMessageTypeHasASample() {
        let covered = Set(Self.samples.map(\.type))
        #expect(covered == Set(MessageType.allCases))
    }

    @Test(arguments: Outcome.allCases) func outcomeRoundTrips(outcome: Outcome) throws {
        let body = ReportBody(
            leaseId: "l",
            epoch: 1,
            outcome: outcome,
            exitCode: 0,
            summary: "",
            outputTail: "",
            durationMs: 1,
            checks: [],
            resumeAt: outcome == .parked ? 1_900_000_000_000 : nil  // a parked report says until when
        )
        let frames = codec.frames(Header(type: .report, id: "m", seq: 1), body)
        #expect(try codec.body(ReportBody.self, from: frames[1]).outcome == outcome)
        let object = try jsonObject(frames[1])
        #expect(object["outcome"] as? String == outcome.rawValue)
    }

    // MARK: - The wire's spelling

    @Test func headerOnTheWire() throws {
        let header = Header(type: .heartbeat, id: "m-1", seq: 9, ts: 1234)
        let object = try jsonObject(codec.frames(header, HeartbeatBody())[0])
        #expect(object["v"] as? Int == 1)
        #expect(object["type"] as? String == "heartbeat")
        #expect(object["id"] as? String == "m-1")
        #expect(object["seq"] as? Int == 9)
        #expect(object["ts"] as? Int == 1234)
        #expect(object.count == 5)
    }

    @Test func keysAreSnakeCase() throws {
        let report = try jsonObject(
            codec.json(
                ReportBody(
                    leaseId: "l",
                    epoch: 1,
                    outcome: .timedOut,
                    exitCode: 3,
                    summary: "s",
                    outputTail: "o",
                    durationMs: 5,
                    checks: []
                )
            )
        )
        #expect(Set(report.keys) == ["lease_id", "epoch", "outcome", "exit_code", "summary", "output_tail", "duration_ms", "checks"])
        #expect(report["outcome"] as? String == "timed_out")

        let welcome = try jsonObject(codec.json(WelcomeBody(instance: "i", heartbeatMs: 1, leaseTtlMs: 2, abort: [])))
        #expect(Set(welcome.keys) == ["instance", "heartbeat_ms", "lease_ttl_ms", "abort"])

        let assign = try jsonObject(
            codec.json(
                AssignBody(
                    lease: Self.lease,
                    ttlMs: 5,
                    task: TaskSpec(
                        title: "t",
                        command: "c",
                        prompt: nil,
                        timeoutSeconds: 2,
                        checks: [Check(command: "x", timeoutSeconds: 1)]
                    )
                )
            )
        )
        #expect(Set(assign.keys) == ["lease", "ttl_ms", "task"])
        let lease = try #require(assign["lease"] as? [String: Any])
        #expect(Set(lease.keys) == ["lease_id", "plan", "todo", "epoch"])
        let task = try #require(assign["task"] as? [String: Any])
        #expect(Set(task.keys) == ["title", "command", "timeout_seconds", "checks"], "nil optionals are left out")
        let check = try #require((task["checks"] as? [[String: Any]])?.first)
        #expect(Set(check.keys) == ["command", "timeout_seconds"])

        let plan = try jsonObject(
            codec.json(Todo(id: "a", command: "c", dependsOn: ["b"], budget: Budget(wallSeconds: 1), timeoutSeconds: 3, maxAttempts: 2))
        )
        #expect(plan["depends_on"] as? [String] == ["b"])
        #expect(plan["max_attempts"] as? Int == 2)
        #expect(plan["timeout_seconds"] as? Double == 3)
        #expect((plan["budget"] as? [String: Any])?["wall_seconds"] as? Double == 1)

        let worker = try jsonObject(
            codec.json(StatusBody.WorkerStatus(id: "w", host: "h", slots: 1, labels: [], running: [], draining: false, lastSeenMsAgo: 7))
        )
        #expect(worker["last_seen_ms_ago"] as? Int == 7)
    }

    @Test func snakeCaseKeysAreRead() throws {
        let body = try codec.body(
            LeaseAnswerBody.self,
            from: Data(#"{"lease_id": "lease-1", "epoch": 2, "reason": "busy"}"#.utf8)
        )
        #expect(body == LeaseAnswerBody(leaseId: "lease-1", epoch: 2, reason: "busy"))
    }

    // MARK: - Refused headers

    @Test func headerWithWrongVersion() throws {
        let error = try headerError(#"{"v": 2, "type": "register", "id": "m-1", "seq": 1, "ts": 0}"#)
        #expect(error.code == .unsupportedVersion)
        #expect(error.ref == "m-1")
        #expect(error.message.contains("2"))
    }

    @Test func headerWithUnknownType() throws {
        let error = try headerError(#"{"v": 1, "type": "teleport", "id": "m-2", "seq": 1, "ts": 0}"#)
        #expect(error.code == .unknownType)
        #expect(error.ref == "m-2")
        #expect(error.message.contains("teleport"))
    }

    @Test(arguments: ["{not json", "", "{\"v\": 1,", "\u{FF}\u{FE}"]) func malformedHeader(text: String) throws {
        let error = try headerError(text)
        #expect(error.code == .badJSON)
        #expect(error.ref == nil)
    }

    @Test(arguments: ["[1, 2]", "null", "42", "\"header\""]) func headerThatIsNotAnObject(text: String) throws {
        let error = try headerError(text)
        #expect(error.code == .badJSON, "\(error)")
    }

    @Test func oversizedHeader() throws {
        let padding = String(repeating: "x", count: WireLimits.headerBytes)
        let error = try headerError(#"{"v": 1, "type": "ack", "id": "\#(padding)", "seq": 1, "ts": 0}"#)
        #expect(error.code == .tooLarge)
    }

    @Test(arguments: ["v", "type", "id", "seq", "ts"]) func headerWithMissingField(field: String) throws {
        var object: [String: Any] = ["v": 1, "type": "ack", "id": "m-1", "seq": 1, "ts": 0]
        object[field] = nil
        let frame = try JSONSerialization.data(withJSONObject: object)
        let error = try #require(throws: ProtocolError.self) { try codec.header(from: frame) }
        #expect(error.code == .badField)
        #expect(error.message.contains("'\(field)'"), "\(error.message)")
    }

    @Test func reviewsAndReportsWithBadFieldsAreRefusedByName() throws {
        let review = try #require(throws: ProtocolError.self) {
            try codec.body(ReviewRequest.self, from: Data(#"{"plan":"has space"}"#.utf8))
        }
        #expect(review.code == .badField && review.message.contains("'plan'"))
        let files = Array(repeating: "a.swift", count: WireLimits.maxFiles + 1).map { "\"\($0)\"" }.joined(separator: ",")
        let report = #"{"lease_id":"p/t@1","epoch":1,"outcome":"succeeded","summary":"","output_tail":"","duration_ms":1,"checks":[],"#
        let tooMany = try #require(throws: ProtocolError.self) {
            try codec.body(ReportBody.self, from: Data((report + #""files":[\#(files)]}"#).utf8))
        }
        #expect(tooMany.code == .badField && tooMany.message.contains("'files'"))
        let negative = try #require(throws: ProtocolError.self) {
            try codec.body(ReportBody.self, from: Data((report + #""tokens":-1}"#).utf8))
        }
        #expect(negative.code == .badField && negative.message.contains("'tokens'"))
    }

    @Test func headerWithWrongTypedField() throws {
        let error = try headerError(#"{"v": 1, "type": "ack", "id": "m", "seq": "first", "ts": 0}"#)
        #expect(error.code == .badField)
        #expect(error.message.contains("'seq'"))
    }

    @Test(arguments: ["", String(repeating: "i", count: 201)]) func headerWithBadID(id: String) throws {
        let error = try headerError(#"{"v": 1, "type": "ack", "id": "\#(id)", "seq": 1, "ts": 0}"#)
        #expect(error.code == .badField)
        #expect(error.message.contains("'id'"))
    }

    // MARK: - Refused bodies

    @Test func bodyWithMissingFieldNamesItsPath() throws {
        let error = try bodyError(
            AssignBody.self,
            #"{"lease": {"plan": "p", "todo": "t", "epoch": 1}, "ttl_ms": 5, "task": {"title": "x", "checks": []}}"#,
            ref: "msg-9"
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'lease.lease_id'"), "\(error.message)")
        #expect(error.ref == "msg-9")
    }

    @Test func bodyWithMissingTopLevelField() throws {
        let error = try bodyError(RegisterBody.self, #"{"worker": "w", "host": "h", "labels": [], "holding": [], "draining": false}"#)
        #expect(error.code == .badField)
        #expect(error.message.contains("'slots'"), "\(error.message)")
    }

    @Test func bodyWithWrongTypedFieldNamesItsPath() throws {
        let error = try bodyError(
            AssignBody.self,
            #"{"lease": {"lease_id": "l", "plan": "p", "todo": "t", "epoch": "one"}, "ttl_ms": 5, "task": {"title": "x", "checks": []}}"#,
            ref: "msg-10"
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'lease.epoch'"), "\(error.message)")
        #expect(error.ref == "msg-10")
    }

    @Test func bodyWithWrongTypedNestedArrayElement() throws {
        let error = try bodyError(
            AssignBody.self,
            #"{"lease": {"lease_id": "l", "plan": "p", "todo": "t", "epoch": 1}, "ttl_ms": 5, "task": {"title": "x", "checks": [{"file": 3}]}}"#
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'task.checks[0].file'"), "\(error.message)")
    }

    @Test func bodyWithWrongTypedSnakeCaseField() throws {
        let error = try bodyError(
            AssignBody.self,
            #"{"lease": {"lease_id": "l", "plan": "p", "todo": "t", "epoch": 1}, "ttl_ms": "soon", "task": {"title": "x", "checks": []}}"#
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'ttl_ms'"), "the wire's name, not Swift's: \(error.message)")
    }

    @Test func bodyWithNullField() throws {
        let error = try bodyError(ByeBody.self, #"{"reason": null}"#)
        #expect(error.code == .badField)
        #expect(error.message.contains("'reason'"), "\(error.message)")
    }

    @Test func bodyWithUnknownEnumValue() throws {
        let error = try bodyError(
            ReportBody.self,
            #"{"lease_id": "l", "epoch": 1, "outcome": "exploded", "summary": "", "output_tail": "", "duration_ms": 1, "checks": []}"#
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'outcome'"), "\(error.message)")
    }

    @Test(arguments: ["{oops", "[]", "null"]) func bodyThatIsNotAJSONObject(text: String) throws {
        let error = try bodyError(AckBody.self, text, ref: "msg-11")
        #expect(error.code == .badJSON, "\(error)")
        #expect(error.ref == "msg-11")
    }

    @Test func oversizedBody() throws {
        let frame = Data(repeating: UInt8(ascii: " "), count: WireLimits.bodyBytes + 1)
        let error = try #require(throws: ProtocolError.self) { try codec.body(ReportBody.self, from: frame, ref: "msg-12") }
        #expect(error.code == .tooLarge)
        #expect(error.ref == "msg-12")
    }

    // MARK: - Validation

    @Test func registerWithBadWorkerID() throws {
        let body = RegisterBody(worker: "w.1", host: "h", slots: 1, labels: [], holding: [])
        let error = try bodyError(RegisterBody.self, body, ref: "msg-20")
        #expect(error.code == .badField)
        #expect(error.message.contains("'worker'"))
        #expect(error.ref == "msg-20")
    }

    @Test(arguments: [0, -1, 1025]) func registerWithBadSlots(slots: Int) throws {
        let error = try bodyError(RegisterBody.self, RegisterBody(worker: "w", host: "h", slots: slots, labels: [], holding: []))
        #expect(error.code == .badField)
        #expect(error.message.contains("'slots'"))
    }

    @Test func registerWithBadLabel() throws {
        let error = try bodyError(RegisterBody.self, RegisterBody(worker: "w", host: "h", slots: 1, labels: ["ok", ""], holding: []))
        #expect(error.message.contains("'labels[1]'"))
    }

    @Test func registerHoldingALeaseWithEpochZero() throws {
        let stale = LeaseRef(leaseId: "l", plan: "p", todo: "t", epoch: 0)
        let error = try bodyError(
            RegisterBody.self,
            RegisterBody(worker: "w", host: "h", slots: 1, labels: [], holding: [Self.lease, stale])
        )
        #expect(error.code == .badField)
        #expect(error.message.contains("'holding[1].epoch'"))
    }

    @Test func assignWithEpochZero() throws {
        let body = AssignBody(
            lease: LeaseRef(leaseId: "l", plan: "p", todo: "t", epoch: 0),
            ttlMs: 5,
            task: TaskSpec(title: "t", command: "x", prompt: nil, timeoutSeconds: nil, checks: [])
        )
        let error = try bodyError(AssignBody.self, body, ref: "msg-21")
        #expect(error.code == .badField)
        #expect(error.message.contains("'lease.epoch'"))
        #expect(error.ref == "msg-21")
    }

    @Test func assignWithBadPlanID() throws {
        let body = AssignBody(
            lease: LeaseRef(leaseId: "l", plan: "my.plan", todo: "t", epoch: 1),
            ttlMs: 5,
            task: TaskSpec(title: "t", command: "x", prompt: nil, timeoutSeconds: nil, checks: [])
        )
        let error = try bodyError(AssignBody.self, body)
        #expect(error.message.contains("'lease.plan'"))
    }

    @Test func answerWithEpochZeroOrEmptyLease() throws {
        #expect(try bodyError(LeaseAnswerBody.self, LeaseAnswerBody(leaseId: "l", epoch: 0)).message.contains("'epoch'"))
        #expect(try bodyError(LeaseAnswerBody.self, LeaseAnswerBody(leaseId: "", epoch: 1)).message.contains("'lease_id'"))
    }

    @Test func otherValidations() throws {
        #expect(try bodyError(WelcomeBody.self, WelcomeBody(instance: "i", heartbeatMs: 0, leaseTtlMs: 1, abort: [])).code == .badField)
        #expect(
            try bodyError(ControlBody.self, ControlBody(action: ControlAction(rawValue: "resume"), leaseId: "l", reason: "")).message
                .contains("'action'")
        )
        #expect(try bodyError(ControlBody.self, ControlBody(action: .steer, leaseId: "l", reason: "")).message.contains("'text'"))
        #expect(try bodyError(AckBody.self, AckBody(ref: "")).message.contains("'ref'"))
        let progress = ProgressBody(leaseId: "l", epoch: 1, events: [AgentEvent(kind: AgentEventKind(rawValue: ""))])
        #expect(try bodyError(ProgressBody.self, progress).message.contains("'events[0].kind'"))
        let report = ReportBody(
            leaseId: "l",
            epoch: 1,
            outcome: .succeeded,
            exitCode: 0,
            summary: "",
            outputTail: "",
            durationMs: -1,
            checks: []
        )
        #expect(try bodyError(ReportBody.self, report).message.contains("'duration_ms'"))
        #expect(try bodyError(SubmittedBody.self, SubmittedBody(plan: "", created: true)).message.contains("'plan'"))
    }

    @Test func submitWithInvalidPlanIsRejected() throws {
        let plan = Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x", dependsOn: ["ghost"])])
        let error = try bodyError(SubmitBody.self, SubmitBody(plan: plan), ref: "msg-22")
        #expect(error.code == .rejected)
        #expect(error.message.contains("ghost"))
        #expect(error.ref == "msg-22")
    }

    @Test func errorReplyCarriesTheRefusal() {
        let error = ProtocolError(.staleLease, "abort it", ref: "m-1", leaseId: "l-1")
        #expect(error.body == ErrorBody(code: .staleLease, message: "abort it", ref: "m-1", leaseId: "l-1"))
        #expect(error.description == "stale_lease: abort it")
    }

    // MARK: - Helpers

    private func jsonObject(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], sourceLocation: sourceLocation)
    }

    private func headerError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProtocolError {
        try #require(throws: ProtocolError.self, sourceLocation: sourceLocation) { try codec.header(from: Data(text.utf8)) }
    }

    private func bodyError<Body: WireBody>(
        _ type: Body.Type,
        _ text: String,
        ref: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProtocolError {
        try #require(throws: ProtocolError.self, sourceLocation: sourceLocation) {
            try codec.body(type, from: Data(text.utf8), ref: ref)
        }
    }

    /// The error `body` is refused with after a trip over the wire.
    private func bodyError<Body: WireBody>(
        _ type: Body.Type,
        _ body: Body,
        ref: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProtocolError {
        let frame = codec.json(body)
        return try #require(throws: ProtocolError.self, sourceLocation: sourceLocation) {
            try codec.body(type, from: frame, ref: ref)
        }
    }
}
