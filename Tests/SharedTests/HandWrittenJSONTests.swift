import Foundation
import Testing

@testable import DroverProtocol

/// Headers and events are written by hand on the hot path; they must read back as exactly what was written.
@Suite struct HandWrittenJSONTests {
    static let awkward = ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "control \u{01}\u{1F}", "ünïcødé ✓ 🚀", ""]

    @Test(arguments: awkward)
    func headerRoundTrips(id: String) throws {
        let header = Header(type: .report, id: id.isEmpty ? "x" : id, seq: 42, ts: 1_700_000_000_123)
        let data = WireCodec.encode(header)
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any])
        #expect(try WireCodec().header(from: data) == header)
    }

    @Test(arguments: awkward)
    func eventRoundTripsThroughFoundation(text: String) throws {
        let event = Event(
            seq: 7,
            ts: 99,
            type: .todoDone,
            plan: "p",
            todo: text,
            worker: nil,
            data: [
                "text": .string(text), "n": .int(-3), "x": .double(1.5), "inf": .double(.infinity), "ok": .bool(true), "none": .null,
                "list": .array([.int(1), .string(text)]), "nested": .object(["b": .int(2), "a": .string(text)]),
            ]
        )
        let decoded = try JSONDecoder().decode(Event.self, from: Data(event.json.utf8))
        var expected = event
        expected.data["inf"] = .null  // JSON has no infinity
        #expect(decoded == expected)
    }

    @Test func eventJSONIsStable() {
        let event = Event(seq: 1, ts: 2, type: .planDone, plan: "p", data: ["b": 1, "a": "x"])
        #expect(event.json == #"{"seq":1,"ts":2,"type":"plan.done","plan":"p","data":{"a":"x","b":1}}"#)
    }
}
