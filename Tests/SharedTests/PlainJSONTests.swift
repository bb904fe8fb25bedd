import Foundation
import Testing

@testable import DroverProtocol

/// The hand-written readers of ``PlainJSON`` must never change what the codec accepts or how it refuses: on every
/// frame, good or bad, the codec gives the same value or the same error as the full `JSONDecoder` path.
@Suite struct PlainJSONTests {
    let codec = WireCodec()

    /// Headers the plain reader takes: the codec's own output, and hand-formatted variants of it.
    static let plainHeaders = [
        #"{"v":1,"type":"heartbeat","id":"hb-1-hb","seq":0,"ts":1700000000123}"#,
        #"{"v":1,"type":"report","id":"c0ffee-12","seq":18446744073709551615,"ts":-5}"#,
        #" { "ts" : 0 , "seq" : 7 , "id" : "a/b@3" , "type" : "ack" , "v" : 1 } "#,
        "{\n\t\"v\": 1,\r\n\"type\": \"register\", \"id\": \"x\", \"seq\": 1, \"ts\": -0}\n",
        #"{"v":1,"type":"accept","id":"\#(String(repeating: "i", count: 200))","seq":1,"ts":9223372036854775807}"#,
    ]

    /// Headers it leaves to the full decoder: valid or not, odd in some way.
    static let unusualHeaders = [
        // Valid, but not plain.
        #"{"v":1,"type":"ack","id":"esc\"aped","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"ünï","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":0,"extra":true}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":0,"v":1}"#,
        #"{"v":1.0,"type":"ack","id":"m","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1e2,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":-9223372036854775808}"#,
        #"{"v":1,"type":"a\u0063k","id":"m","seq":1,"ts":0}"#,
        // Refused: every error path of the header.
        #"{"v":2,"type":"register","id":"m-1","seq":1,"ts":0}"#,
        #"{"v":1,"type":"teleport","id":"m-2","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"\#(String(repeating: "i", count: 201))","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":"first","ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":-1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":18446744073709551616,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":01,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":null}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1}"#,
        #"{"type":"ack","id":"m","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":0}x"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":0,}"#,
        #"{"v":1,"type":"ack","id":"m" "seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":0"#,
        #"{"v":1,"type":"ack","id":"m","seq":1,"ts":"#,
        #"{"v":1,"type":"ack","id":"line"# + "\n" + #"break","seq":1,"ts":0}"#,
        #"{"v":1,"type":"ack","id":7,"seq":1,"ts":0}"#,
        #"{"v":true,"type":"ack","id":"m","seq":1,"ts":0}"#,
        #"{"v":-,"type":"ack","id":"m","seq":1,"ts":0}"#,
        "{}", "", "{", "[1, 2]", "null", "42", "\"header\"", "{not json", "\u{FF}\u{FE}",
        #"{"v":1,"type":"ack","id":"\#(String(repeating: "x", count: WireLimits.headerBytes))","seq":1,"ts":0}"#,
    ]

    @Test(arguments: plainHeaders) func plainHeaderIsReadByHandAsTheDecoderReadsIt(text: String) throws {
        let frame = Data(text.utf8)
        let fast = try #require(PlainJSON.header(frame))
        #expect(fast == (try codec.decodedHeader(from: frame)))
        #expect(try codec.header(from: frame) == fast)
    }

    @Test(arguments: unusualHeaders) func unusualHeaderIsLeftToTheDecoder(text: String) {
        let frame = Data(text.utf8)
        #expect(PlainJSON.header(frame) == nil)
        #expect(outcome { try codec.header(from: frame) } == outcome { try codec.decodedHeader(from: frame) })
    }

    @Test func everyMessageTypeIsReadByHand() throws {
        for type in MessageType.allCases {
            let header = Header(type: type, id: "m-\(type.rawValue)", seq: 3, ts: 4)
            #expect(PlainJSON.header(WireCodec.encode(header)) == header)
        }
    }

    // MARK: - Bodies

    static let plainHeartbeats = [
        "{}", #"{"leases":[]}"#, #"{"leases":["bench/t1@1","l-2"],"draining":false}"#, #"{"draining":true}"#,
        #"{"instance":"c0ffee12"}"#, #" { "leases" : [ "a" ] , "draining" : null , "instance" : null } "#, #"{"leases":null}"#,
    ]

    static let unusualHeartbeats = [
        // Valid, but not plain.
        #"{"leases":["esc\/aped"]}"#, #"{"instance":"ünï"}"#, #"{"other":1}"#, #"{"leases":[],"leases":[]}"#,
        // Refused: not JSON, wrong types, values validate() refuses.
        #"{"leases":[""]}"#, #"{"leases":["\#(String(repeating: "l", count: 201))"]}"#,
        #"{"leases":"#, #"{"leases":[1]}"#, #"{"leases":["a",]}"#, #"{"leases":["a"}"#, #"{"draining":"yes"}"#,
        #"{"draining":tru}"#, #"{"draining":truex}"#, #"{"instance":5}"#, #"{,}"#, "{} {}", "[]", "null", "", "{oops",
        #"{"leases":[],}"#,
    ]

    @Test(arguments: plainHeartbeats) func plainHeartbeatIsReadByHand(text: String) throws {
        let frame = Data(text.utf8)
        let fast = try #require(PlainJSON.heartbeat(frame))
        #expect(fast == (try codec.decodedBody(HeartbeatBody.self, from: frame, ref: "r")))
        #expect(try codec.body(HeartbeatBody.self, from: frame, ref: "r") == fast)
    }

    @Test(arguments: unusualHeartbeats) func unusualHeartbeatGetsTheDecodersAnswer(text: String) {
        let frame = Data(text.utf8)
        let decoded = outcome { try codec.decodedBody(HeartbeatBody.self, from: frame, ref: "r") }
        #expect(outcome { try codec.body(HeartbeatBody.self, from: frame, ref: "r") } == decoded)
        if PlainJSON.heartbeat(frame) != nil {
            // Read by hand but refused by validation, which is shared: the same error either way.
            guard case .refused = decoded else {
                Issue.record("read by hand, yet not refused: \(text)")
                return
            }
        }
    }

    @Test func tooManyLeasesAreRefusedTheSameWay() {
        let leases = (0...WireLimits.listCount).map { "\"l\($0)\"" }.joined(separator: ",")
        let frame = Data(#"{"leases":[\#(leases)]}"#.utf8)
        #expect(PlainJSON.heartbeat(frame) != nil)
        let fast = outcome { try codec.body(HeartbeatBody.self, from: frame, ref: "r") }
        #expect(fast == outcome { try codec.decodedBody(HeartbeatBody.self, from: frame, ref: "r") })
        #expect(fast == .refused(ProtocolError(.badField, "field 'leases' is too long", ref: "r")))
    }

    static let plainAnswers = [
        #"{"lease_id":"bench/t1@1","epoch":1}"#, #"{"lease_id":"l","epoch":3,"reason":"draining"}"#,
        #"{"epoch":2,"reason":null,"lease_id":"l"}"#, #"{"lease_id":"l","epoch":0}"#, #"{"lease_id":"","epoch":1}"#,
        #"{"lease_id":"l","epoch":-4}"#,
    ]

    static let unusualAnswers = [
        #"{"lease_id":"l","epoch":1,"reason":"line\nbreak"}"#, #"{"lease_id":"l","epoch":1.5}"#, #"{"lease_id":"l"}"#,
        #"{"epoch":1}"#, #"{"lease_id":7,"epoch":1}"#, #"{"lease_id":"l","epoch":"1"}"#, #"{"lease_id":"l","epoch":1,"x":0}"#,
        #"{"lease_id":"l","epoch":1,"reason":5}"#, #"{"lease_id":"l","lease_id":"m","epoch":1}"#, "{}", "[]", "",
    ]

    @Test(arguments: plainAnswers) func plainLeaseAnswerIsReadByHand(text: String) throws {
        let frame = Data(text.utf8)
        let fast = try #require(PlainJSON.leaseAnswer(frame))
        #expect(fast == (try codec.decode(LeaseAnswerBody.self, from: frame)))
        #expect(
            outcome { try codec.body(LeaseAnswerBody.self, from: frame, ref: "r") }
                == outcome { try codec.decodedBody(LeaseAnswerBody.self, from: frame, ref: "r") }
        )
    }

    @Test(arguments: unusualAnswers) func unusualLeaseAnswerGetsTheDecodersAnswer(text: String) {
        let frame = Data(text.utf8)
        #expect(PlainJSON.leaseAnswer(frame) == nil)
        #expect(
            outcome { try codec.body(LeaseAnswerBody.self, from: frame, ref: "r") }
                == outcome { try codec.decodedBody(LeaseAnswerBody.self, from: frame, ref: "r") }
        )
    }

    @Test func bodiesOfOtherTypesAreNotReadByHand() {
        #expect(PlainJSON.body(AckBody.self, Data(#"{"ref":"m"}"#.utf8)) == nil)
        #expect(PlainJSON.body(HeartbeatBody.self, Data("{}".utf8)) == HeartbeatBody())
    }

    // MARK: - Writing

    static let awkward = ["plain", "a/b@3", "quote \" and \\ backslash", "line\nbreak\ttab\r", "control \u{01}\u{1F}", "ünï ✓ 🚀", ""]

    @Test(arguments: awkward) func bodiesWrittenByHandReadBackAsWritten(text: String) throws {
        let heartbeats = [
            HeartbeatBody(), HeartbeatBody(leases: []), HeartbeatBody(leases: [text, "l-2"], draining: true),
            HeartbeatBody(draining: false, instance: text),
        ]
        for body in heartbeats {
            #expect(try codec.decode(HeartbeatBody.self, from: PlainJSON.encode(body)) == body)
        }
        for body in [AckBody(ref: text), AckBody(ref: "m", leaseId: text)] {
            #expect(try codec.decode(AckBody.self, from: PlainJSON.encode(body)) == body)
        }
        for body in [LeaseAnswerBody(leaseId: text, epoch: -3), LeaseAnswerBody(leaseId: "l", epoch: Int64.max, reason: text)] {
            #expect(try codec.decode(LeaseAnswerBody.self, from: PlainJSON.encode(body)) == body)
        }
    }

    @Test func bodiesWrittenByHandAreWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        /// The same document: JSONEncoder's key order is its own, so compared as parsed objects.
        func same(_ written: Data, _ encoded: Data) throws -> Bool {
            let left = try JSONSerialization.jsonObject(with: written) as? NSDictionary
            let right = try JSONSerialization.jsonObject(with: encoded) as? NSDictionary
            return left != nil && left == right
        }
        let text = "a/b \" \\ ünï\n\u{01}"
        for heartbeat in [HeartbeatBody(leases: [text, "x"], draining: false, instance: text), HeartbeatBody()] {
            #expect(try same(PlainJSON.encode(heartbeat), encoder.encode(heartbeat)))
        }
        for ack in [AckBody(ref: text, leaseId: "p/t@1"), AckBody(ref: "m")] {
            #expect(try same(PlainJSON.encode(ack), encoder.encode(ack)))
            #expect(try same(codec.frames(Header(type: .ack, id: "m", seq: 1), ack)[1], encoder.encode(ack)), "the codec uses it")
        }
        for answer in [LeaseAnswerBody(leaseId: "p/t@1", epoch: 7, reason: text), LeaseAnswerBody(leaseId: "l", epoch: 1)] {
            #expect(try same(PlainJSON.encode(answer), encoder.encode(answer)))
        }
        #expect(PlainJSON.written(ByeBody(reason: "x"), nested: encoder) == nil, "other bodies go through JSONEncoder")
    }

    // MARK: - assign and report

    static let lease = LeaseRef(leaseId: "bench/t1@1", plan: "bench", todo: "t1", epoch: 1)

    static let assigns: [AssignBody] = [
        AssignBody(lease: lease, ttlMs: 2000, task: TaskSpec(title: "t1", command: "true", prompt: nil, timeoutSeconds: nil, checks: [])),
        AssignBody(
            lease: lease,
            ttlMs: 1,
            task: TaskSpec(
                title: "Fix it",
                command: nil,
                prompt: "Fix the login form",
                timeoutSeconds: 600,
                checks: [],
                risk: .high,
                repository: "git@example.com:team/app.git",
                branch: "drover/bench/t1"
            )
        ),
        // Not plain: checks, a budget, permissions, a fraction of a second, escapes.
        AssignBody(
            lease: lease,
            ttlMs: 5,
            task: TaskSpec(
                title: "t",
                command: "make test",
                prompt: nil,
                timeoutSeconds: 600.5,
                checks: [Check(command: "make test", timeoutSeconds: 120), Check(file: "out/app", pattern: #"## 1\.0"#)],
                budget: Budget(wallSeconds: 3600, turns: 6, tokens: 2_000_000),
                risk: .low,
                permissions: Permissions(sandbox: "workspace-write", network: false, writable: ["/tmp"])
            )
        ),
        AssignBody(
            lease: lease,
            ttlMs: 5,
            task: TaskSpec(title: "quote \" here", command: "echo \"hi\"\n", prompt: nil, timeoutSeconds: 0.25, checks: [])
        ),
        // A merge into the integration branch.
        AssignBody(
            lease: lease,
            ttlMs: 5,
            task: TaskSpec(
                title: "Merge a",
                command: nil,
                prompt: nil,
                timeoutSeconds: nil,
                checks: [Check(command: "make test")],
                repository: "/srv/app.git",
                merge: MergeSpec(
                    todo: "a",
                    title: "Write a",
                    branch: "drover/p/a",
                    integration: "drover/p/integration",
                    expect: "0123abc",
                    base: "main",
                    baseTag: "drover/p/base",
                    tag: "drover/p/after-a"
                )
            )
        ),
        // A TODO after its dependencies, and a job's step: a base, a context document, dependencies, an answer schema.
        AssignBody(
            lease: lease,
            ttlMs: 5,
            task: TaskSpec(
                title: "c",
                command: "cat a.txt > c.txt",
                prompt: nil,
                timeoutSeconds: nil,
                checks: [],
                repository: "/srv/app.git",
                branch: "drover/p/c",
                base: "main",
                dependencies: [DependencyWork(todo: "a", title: "Write a", branch: "drover/p/a", summary: "done \"a\"")]
            )
        ),
        AssignBody(
            lease: lease,
            ttlMs: 5,
            task: TaskSpec(
                title: "plan",
                command: nil,
                prompt: "Plan the work",
                timeoutSeconds: nil,
                checks: [],
                permissions: Permissions(sandbox: "read-only", network: false),
                repository: "/srv/app.git",
                base: "release/1.2",
                context: "# Context\n- tests: `make test`",
                output: OutputSpec(step: .plan)
            )
        ),
    ]

    @Test(arguments: assigns) func assignWrittenByHandReadsBackTheSame(body: AssignBody) throws {
        let written = PlainJSON.encode(body, nested: JSONEncoder())
        #expect(try codec.decode(AssignBody.self, from: written) == body)
        let encoded = try JSONEncoder().encode(body)
        #expect(try sameObject(written, encoded))
        // Read by hand when plain, and then as JSONDecoder reads it; the codec's answer is the same either way.
        for frame in [written, encoded] {
            if let fast = PlainJSON.assign(frame) { #expect(fast == body) }
            #expect(try codec.body(AssignBody.self, from: frame) == body)
        }
    }

    @Test func plainAssignIsReadByHand() throws {
        for body in Self.assigns.prefix(2) {
            #expect(PlainJSON.assign(PlainJSON.encode(body, nested: JSONEncoder())) == body)
        }
        #expect(PlainJSON.assign(PlainJSON.encode(Self.assigns[2], nested: JSONEncoder())) == nil, "checks, budget, permissions")
        #expect(PlainJSON.assign(PlainJSON.encode(Self.assigns[3], nested: JSONEncoder())) == nil, "escapes, fractions")
    }

    static let reports: [ReportBody] = [
        ReportBody(
            leaseId: "bench/t1@1",
            epoch: 1,
            outcome: .succeeded,
            exitCode: 0,
            summary: "no-op",
            outputTail: "",
            durationMs: 0,
            checks: []
        ),
        ReportBody(
            leaseId: "l",
            epoch: 3,
            outcome: .failed,
            exitCode: -9,
            summary: "check failed",
            outputTail: "all done",
            durationMs: 12_345,
            checks: [
                CheckResult(check: "command `make test`", passed: false, detail: "exit 2"),
                CheckResult(check: "file out/app exists", passed: true, detail: "exists"),
            ],
            tokens: 1200,
            files: ["a.swift", "b/c.swift"],
            diffStat: DiffStat(files: 2, insertions: 40, deletions: 7)
        ),
        ReportBody(leaseId: "l", epoch: 1, outcome: .timedOut, exitCode: nil, summary: "", outputTail: "", durationMs: 0, checks: []),
        // Not plain: a step's answer.
        ReportBody(
            leaseId: "l",
            epoch: 2,
            outcome: .succeeded,
            exitCode: 0,
            summary: "answered",
            outputTail: "",
            durationMs: 5,
            checks: [],
            output: #"{"kind":"question","answer":"It uses \"make\"."}"#
        ),
        // Not plain: a merge's result.
        ReportBody(
            leaseId: "l",
            epoch: 1,
            outcome: .failed,
            exitCode: nil,
            summary: "conflict",
            outputTail: "",
            durationMs: 3,
            checks: [],
            merge: MergeResult(outcome: .conflict, conflicts: ["a.txt"], detail: "<<<<<<< HEAD\n=======\n>>>>>>> a\n")
        ),
        // Not plain: escapes.
        ReportBody(
            leaseId: "l",
            epoch: 1,
            outcome: .handedBack,
            exitCode: nil,
            summary: "line 1\nline 2",
            outputTail: "\"quoted\"",
            durationMs: 1,
            checks: []
        ),
        // Not plain: a parked report's reset time (read by the full decoder).
        ReportBody(
            leaseId: "l",
            epoch: 2,
            outcome: .parked,
            exitCode: 1,
            summary: "parked until 2030-03-17T17:46:40Z: You've hit your usage limit.",
            outputTail: "",
            durationMs: 9,
            checks: [],
            resumeAt: 1_900_000_000_000
        ),
    ]

    @Test(arguments: reports) func reportWrittenByHandReadsBackTheSame(body: ReportBody) throws {
        let written = PlainJSON.encode(body)
        #expect(try codec.decode(ReportBody.self, from: written) == body)
        let encoded = try JSONEncoder().encode(body)
        #expect(try sameObject(written, encoded))
        for frame in [written, encoded] {
            if let fast = PlainJSON.report(frame) { #expect(fast == body) }
            #expect(try codec.body(ReportBody.self, from: frame) == body)
        }
    }

    @Test func plainReportIsReadByHand() {
        for body in Self.reports.prefix(3) {
            #expect(PlainJSON.report(PlainJSON.encode(body)) == body)
        }
        #expect(PlainJSON.report(PlainJSON.encode(Self.reports[3])) == nil, "output")
        #expect(PlainJSON.report(PlainJSON.encode(Self.reports[4])) == nil, "merge")
        #expect(PlainJSON.report(PlainJSON.encode(Self.reports[5])) == nil, "escapes")
        #expect(PlainJSON.report(PlainJSON.encode(Self.reports.last!)) == nil, "resume_at")
    }

    /// Odd and refused assigns and reports: the codec answers as JSONDecoder and validation do.
    static let assignHead = #"{"lease":{"lease_id":"l","plan":"p","todo":"t","epoch":1},"ttl_ms":5,"task":"#
    static let reportHead = #"{"lease_id":"l","epoch":1,"outcome":"failed","summary":"","output_tail":"","duration_ms":1,"checks":"#
    static let unusualWork: [(MessageType, String)] = [
        (.assign, #"{"lease":{"lease_id":"l","plan":"p","todo":"t","epoch":0},"ttl_ms":5,"task":{"title":"x","checks":[]}}"#),
        (.assign, #"{"lease":{"lease_id":"l","plan":"p","todo":"t","epoch":1},"ttl_ms":0,"task":{"title":"x","checks":[]}}"#),
        (.assign, assignHead + #"{"checks":[]}}"#),
        (.assign, assignHead + #"{"title":"x"}}"#),
        (.assign, #"{"lease":{"lease_id":"l","plan":"p","todo":"t"},"ttl_ms":5,"task":{"title":"x","checks":[]}}"#),
        (.assign, #"{"lease":{"lease_id":"l","plan":"p","todo":"t","epoch":1},"task":{"title":"x","checks":[]}}"#),
        (.assign, assignHead + #"{"title":"x","checks":[],"risk":"extreme"}}"#),
        (.assign, #"{"lease":{"lease_id":"l","plan":"p","todo":"t","epoch":1},"ttl_ms":"5","task":{"title":"x","checks":[]}}"#),
        (.assign, assignHead + #"{"title":"x","checks":[{"file":3}]}}"#),
        (.assign, assignHead + #"{"title":"","checks":[],"budget":null}}"#),
        (.assign, #"{"lease":{"lease_id":"l","plan":"P Q","todo":"t","epoch":1},"ttl_ms":5,"task":{"title":"x","checks":[]}}"#),
        (.assign, #"{"lease":null,"ttl_ms":5,"task":{"title":"x","checks":[]}}"#),
        (.report, #"{"lease_id":"l","epoch":1,"outcome":"exploded","summary":"","output_tail":"","duration_ms":1,"checks":[]}"#),
        (.report, #"{"lease_id":"l","epoch":1,"outcome":"failed","summary":"","output_tail":"","duration_ms":-1,"checks":[]}"#),
        (.report, #"{"lease_id":"","epoch":1,"outcome":"failed","summary":"","output_tail":"","duration_ms":1,"checks":[]}"#),
        (.report, #"{"lease_id":"l","epoch":1,"outcome":"failed","summary":"","output_tail":"","duration_ms":1}"#),
        (.report, #"{"lease_id":"l","epoch":1,"outcome":"failed","output_tail":"","duration_ms":1,"checks":[]}"#),
        (.report, reportHead + #"[],"exit_code":2147483648}"#),
        (.report, reportHead + #"[],"tokens":-5}"#),
        (.report, reportHead + #"[{"check":"c","passed":"yes","detail":""}]}"#),
        (.report, reportHead + #"[{"check":"c","passed":true}]}"#),
        (.report, reportHead + #"[],"files":[1]}"#),
        (.report, reportHead + #"[],"epoch":2}"#),
        (.report, reportHead + #"[],"extra":0}"#),
        (.report, reportHead + #"[],"exit_code":null,"tokens":null,"files":null}"#),
        (.report, "{}"),
        (.report, "[]"),
    ]

    @Test(arguments: 0..<unusualWork.count) func unusualWorkGetsTheDecodersAnswer(index: Int) {
        let (type, text) = Self.unusualWork[index]
        let frame = Data(text.utf8)
        if type == .assign {
            #expect(
                outcome { try codec.body(AssignBody.self, from: frame, ref: "r") }
                    == outcome { try codec.decodedBody(AssignBody.self, from: frame, ref: "r") }
            )
        } else {
            #expect(
                outcome { try codec.body(ReportBody.self, from: frame, ref: "r") }
                    == outcome { try codec.decodedBody(ReportBody.self, from: frame, ref: "r") }
            )
        }
    }

    // MARK: - Found by fuzzing

    /// Frames that are not JSON only inside a free-form value (an output schema's ``JSONValue``): raw control
    /// characters in a string, invalid UTF-8 in a key. `JSONDecoder` reads a string only when it decodes it, and a
    /// ``JSONValue`` tries one type after another over an object's keys in hash order, so these were refused as
    /// `bad_json` or as `bad_field` of some field, differing from one process to the next (`Fuzz/`, `WireFuzz`).
    static let notJSONInsideAValue: [[UInt8]] = [
        Array(
            #"{"lease":{"lease_id":"p/t@1","plan":"p","todo":"t","epoch":1},"ttl_ms":2000,"task":{"title":"T","prompt":"P","checks":[],"output":{"step":"classify","schema":{"type":"object","required":["kind","need"#
                .utf8
        )
            + [0, 0, 0, 0]
            + Array(#"vestigation","summary"],"properties":{"kind":{"e"#.utf8) + [0xFF]
            + Array(#"um":["question","commands"]}}},"attempts":2}}}"#.utf8),
        Array(
            #"{"lease":{"lease_id":"p/t@1","plan":"p","todo":"t","epoch":1},"ttl_ms":2000,"task":{"title":"T","prompt":"P","checks":[],"output":{"step":"s","schema":{"a":["x"],"b":{"c":"tab"#
                .utf8
        )
            + [9] + Array(#"here"},"d":[1,2],"e":{"f":null}}},"attempts":1}}}"#.utf8),
    ]

    @Test(arguments: notJSONInsideAValue) func aFrameThatIsNotJSONInsideAValueIsAlwaysBadJSON(bytes: [UInt8]) {
        let frame = Data(bytes)
        let plain = outcome { try codec.body(AssignBody.self, from: frame) }
        let decoded = outcome { try codec.decodedBody(AssignBody.self, from: frame) }
        #expect(plain == decoded)
        guard case .refused(let error) = plain else {
            Issue.record("accepted or failed: \(plain)")
            return
        }
        #expect(error.code == .badJSON, "\(error)")
    }

    // MARK: - Helpers

    /// Whether two JSON texts are the same object (keys in any order).
    private func sameObject(_ left: Data, _ right: Data) throws -> Bool {
        let left = try JSONSerialization.jsonObject(with: left) as? NSDictionary
        let right = try JSONSerialization.jsonObject(with: right) as? NSDictionary
        return left != nil && left == right
    }

    enum Outcome<Value: Equatable>: Equatable {
        case value(Value)
        case refused(ProtocolError)
        /// Not a ``ProtocolError``: the codec never throws one.
        case failed(String)
    }

    private func outcome<Value: Equatable>(_ body: () throws -> Value) -> Outcome<Value> {
        do { return .value(try body()) } catch let error as ProtocolError { return .refused(error) } catch { return .failed("\(error)") }
    }
}
