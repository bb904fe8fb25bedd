import DroverProtocol
import Foundation
import Synchronization

/// A `codex app-server` process and the JSON-RPC conversation with it over stdio: requests with
/// their responses, notifications, and the server's own requests (approvals), which must always be answered.
final class AppServerConnection: Sendable {
    typealias RequestHandler = @Sendable (_ method: String, _ params: [String: JSONValue]) async -> JSONValue
    typealias NotificationHandler = @Sendable (_ method: String, _ params: [String: JSONValue]) -> Void

    let process: GuardedProcess
    /// Fires when the server's output ends: it exited, or is about to.
    let ended = OneTimeSignal()
    private let state = StateBox()
    private let reader: Task<Void, Never>

    private final class StateBox: Sendable {
        let mutex = Mutex(State())
        func withLock<T>(_ body: (inout State) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    private struct State {
        var nextID: Int64 = 1
        var pending: [Int64: CheckedContinuation<JSONValue, any Error>] = [:]
        var ended = false
        var tail = OutputTail()
    }

    /// Starts the server and begins reading what it says.
    init(
        arguments: [String],
        environment: [String: String],
        directory: String,
        onNotification: @escaping NotificationHandler,
        onRequest: @escaping RequestHandler
    ) throws {
        let process = try GuardedProcess(arguments: arguments, environment: environment, directory: directory, input: true)
        self.process = process
        let (state, ended) = (self.state, self.ended)
        reader = Task {
            var splitter = LineSplitter()
            for await chunk in process.output {
                guard chunk.stream == .stdout else {
                    state.withLock { $0.tail.append(chunk.data) }
                    continue
                }
                for line in splitter.lines(adding: chunk.data) {
                    guard let message = try? JSONDecoder().decode([String: JSONValue].self, from: line) else { continue }
                    Self.dispatch(message, process: process, state: state, onNotification: onNotification, onRequest: onRequest)
                }
            }
            let waiting = state.withLock { state in
                state.ended = true
                defer { state.pending.removeAll() }
                return Array(state.pending.values)
            }
            for continuation in waiting { continuation.resume(throwing: DroverError(.codex, "codex app-server ended")) }
            ended.fire()
        }
    }

    private static func dispatch(
        _ message: [String: JSONValue],
        process: GuardedProcess,
        state: StateBox,
        onNotification: @escaping NotificationHandler,
        onRequest: @escaping RequestHandler
    ) {
        let params: [String: JSONValue]
        if case .object(let object)? = message["params"] { params = object } else { params = [:] }
        switch (message["method"]?.stringValue, message["id"]) {
        case (let method?, let id?):
            // A request from the server: answer it, whatever happens.
            Task {
                let result = await onRequest(method, params)
                var reply: [String: JSONValue] = ["id": id]
                if case .object(let object) = result, let error = object["error"] {
                    reply["error"] = error
                } else {
                    reply["result"] = result
                }
                try? send(reply, to: process)
            }
        case (let method?, nil):
            onNotification(method, params)
        case (nil, .int(let id)?):
            let continuation = state.withLock { $0.pending.removeValue(forKey: id) }
            if case .object(let error)? = message["error"] {
                continuation?.resume(
                    throwing: RPCError(code: error["code"]?.intValue, message: error["message"]?.stringValue ?? "error \(error)")
                )
            } else {
                continuation?.resume(returning: message["result"] ?? .null)
            }
        default:
            break
        }
    }

    private static func send(_ message: [String: JSONValue], to process: GuardedProcess) throws {
        var text = ""
        JSONValue.object(message).appendJSON(to: &text)
        try process.write(Data((text + "\n").utf8))
    }

    /// An error response: its JSON-RPC code and message.
    struct RPCError: Error, CustomStringConvertible {
        var code: Int64?
        var message: String
        var description: String { message }

        /// `-32001`: the server's ingress is saturated; the request may be sent again.
        static let overloaded: Int64 = -32001
    }

    /// How long to wait before sending a request again after `error` on try `attempt` (from 1); nil: not again.
    /// Only "server overloaded" is retried, five times, from 100 ms, doubling.
    static func retryDelay(after error: RPCError, attempt: Int) -> Duration? {
        guard error.code == RPCError.overloaded, attempt < 5 else { return nil }
        return .milliseconds(100 << (attempt - 1))
    }

    /// Sends a request and waits for its response; a request the server was too busy for is sent again
    /// (``retryDelay(after:attempt:)``). Other error responses throw as ``DroverError`` with the server's message.
    func request(_ method: String, _ params: [String: JSONValue]) async throws -> JSONValue {
        var attempt = 1
        while true {
            do {
                return try await send(method, params)
            } catch let error as RPCError {
                guard let delay = Self.retryDelay(after: error, attempt: attempt) else {
                    let tries = error.code == RPCError.overloaded ? " (overloaded after \(attempt) tries)" : ""
                    throw DroverError(.codex, "\(error.message)\(tries)")
                }
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func send(_ method: String, _ params: [String: JSONValue]) async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            let id = state.withLock { state -> Int64? in
                guard !state.ended else { return nil }
                defer { state.nextID += 1 }
                state.pending[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume(throwing: DroverError(.codex, "codex app-server ended"))
                return
            }
            do {
                try Self.send(["id": .int(id), "method": .string(method), "params": .object(params)], to: process)
            } catch {
                if let waiting = state.withLock({ $0.pending.removeValue(forKey: id) }) {
                    waiting.resume(throwing: DroverError(.codex, "codex app-server is not reading: \(error)"))
                }
            }
        }
    }

    /// Sends a notification (no response).
    func notify(_ method: String, _ params: [String: JSONValue] = [:]) throws {
        try Self.send(["method": .string(method), "params": .object(params)], to: process)
    }

    /// Whether the process has ended.
    var hasEnded: Bool { state.withLock { $0.ended } }

    /// The end of what the server wrote to stderr.
    var stderrTail: String { state.withLock { $0.tail.text } }

    /// Ends the server: closes its stdin (it exits), and stops it if it does not.
    func close() async -> Int32 {
        process.closeInput()
        process.terminate(grace: .seconds(2))
        let status = await process.wait()
        await reader.value
        return status
    }
}
