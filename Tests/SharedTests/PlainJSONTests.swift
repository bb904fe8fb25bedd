import Foundation
import Testing

@testable import Shared

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
        #expect(PlainJSON.encode(ByeBody(reason: "x")) == nil, "other bodies go through JSONEncoder")
    }

    // MARK: - Helpers

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
