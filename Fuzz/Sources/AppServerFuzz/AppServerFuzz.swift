import DroverProtocol
import Foundation

@testable import Worker

/// One input: a chunk of `codex app-server` stdout. Each line is read as the connection reads it (a JSON object with a
/// `method`, `params`, `id`, `result` or `error`), and every notification goes through what the turn driver does with
/// it: token usage, thread status, user-input requests, the events, the stalled-turn verdict on a `thread/read` result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var splitter = LineSplitter()
    let data = Data(UnsafeBufferPointer(start: start, count: count)) + Data("\n".utf8)
    var usage: [String: JSONValue] = [:]
    var status: ThreadStatus?
    for line in splitter.lines(adding: data) {
        guard let message = try? JSONDecoder().decode([String: JSONValue].self, from: line) else { continue }
        let params: [String: JSONValue]
        if case .object(let object)? = message["params"] { params = object } else { params = [:] }
        let method = message["method"]?.stringValue ?? ""
        if let latest = AppServerEvents.usage(params) { usage = latest }
        let thread = params["threadId"]?.stringValue
        if let next = ThreadStatus(notification: params, thread: thread) {
            _ = next.waitingEvent(after: status)
            status = next
        }
        if let request = UserInputRequest(params: params) {
            for item in request.questions { _ = UserInputRequest.text(of: item) }
        }
        for event in AppServerEvents.events(method: method, params: params, usage: usage) { _ = event.agentEvent }
        if let result = message["result"] {
            _ = StalledTurnCheck(grace: .seconds(1)).verdict(read: result, thread: thread ?? "", turnID: nil, usage: usage)
        }
    }
    return 0
}
