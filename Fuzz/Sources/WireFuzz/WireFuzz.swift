import Foundation

@testable import DroverProtocol

/// Every body type a coordinator, worker or client reads off the wire.
let bodies: [any WireBody.Type] = [
    RegisterBody.self, WelcomeBody.self, HeartbeatBody.self, AssignBody.self, LeaseAnswerBody.self, ProgressBody.self,
    ReportBody.self, AckBody.self, ControlBody.self, ByeBody.self, ErrorBody.self, SubmitBody.self, AskBody.self,
    RecoverBody.self, RecoveryBody.self, StatusBody.self, StatusBody.PlanStatus.self, ReviewBody.self, PlanReport.self,
    TodoRequest.self, AnswerBody.self, EventsRequest.self, PlanRequest.self, ReviewRequest.self, JobRequest.self,
    PolicyRequest.self, RollbackRequest.self, ReportRequest.self, MergeRequest.self, EmptyBody.self,
]

/// One input: its first byte picks the body type; the rest is read as a header frame and as that body frame, the way
/// the coordinator reads `[header][body]` (a thrown `ProtocolError` is fine; a trap is a bug).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let frame = Data(UnsafeBufferPointer(start: start + 1, count: count - 1))
    let codec = WireCodec()
    if let header = try? codec.header(from: frame) {
        // A header read back must write out and read again the same.
        let again = codec.frames(header, EmptyBody())[0]
        guard (try? codec.header(from: again)) == header else { fatalError("a header does not survive a round trip: \(header)") }
    }
    // The hand-written fast paths must read exactly what `JSONDecoder` reads, and refuse with the same code.
    same({ try codec.header(from: frame) }, { try codec.decodedHeader(from: frame) }, "header")
    same({ try codec.body(HeartbeatBody.self, from: frame) }, { try codec.decodedBody(HeartbeatBody.self, from: frame) }, "heartbeat")
    same({ try codec.body(LeaseAnswerBody.self, from: frame) }, { try codec.decodedBody(LeaseAnswerBody.self, from: frame) }, "accept")
    same({ try codec.body(ReportBody.self, from: frame) }, { try codec.decodedBody(ReportBody.self, from: frame) }, "report")
    same({ try codec.body(AssignBody.self, from: frame) }, { try codec.decodedBody(AssignBody.self, from: frame) }, "assign")
    let type = bodies[Int(start[0]) % bodies.count]
    _ = try? decode(type, frame, codec)
    return 0
}

/// Stops (a crash to libFuzzer) when the fast path and the decoder disagree.
func same<Value: Equatable>(
    _ fast: () throws -> Value,
    _ decoded: () throws -> Value,
    _ what: String
) {
    let one = Result(catching: fast)
    let other = Result(catching: decoded)
    switch (one, other) {
    case (.success(let a), .success(let b)) where a == b: return
    case (.failure(let a as ProtocolError), .failure(let b as ProtocolError)) where a.code == b.code: return
    default: fatalError("the \(what) fast path read \(one); JSONDecoder read \(other)")
    }
}

func decode<Body: WireBody>(_: Body.Type, _ frame: Data, _ codec: WireCodec) throws {
    let body = try codec.body(Body.self, from: frame, ref: "fuzz")
    // What was accepted must encode again (the coordinator stores and forwards it).
    _ = codec.json(body)
}
