import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One request the scripted model received.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: Data

    /// The body as text, for assertions such as "the prompt reached the model".
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A model server on 127.0.0.1 that speaks the Responses API's streaming protocol and plays a ``ModelScript``.
///
/// codex is pointed at it with a custom provider (`base_url = server.baseURL`, `wire_api = "responses"`). It answers
/// `POST …/responses` from the script, `GET …/models` with an empty list, anything else with 404, and records
/// every request. Each connection is served on a thread of its own; ``stop()`` ends them all.
public final class ScriptedModelServer: Sendable {
    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let scripts: [ModelScript]
    private let state = Mutex(State())

    private struct State {
        var requests: [RecordedRequest] = []
        var stopped = false
        var responses = 0
        /// How often each (script, step) was asked for.
        var asked: [String: Int] = [:]
    }

    /// The `base_url` for codex's provider configuration.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Every request so far, oldest first.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// Only the requests to the Responses endpoint.
    public var responseRequests: [RecordedRequest] { requests.filter { $0.path.hasSuffix("/responses") } }

    /// Binds 127.0.0.1 on a free port and starts serving one script.
    public convenience init(script: ModelScript) throws {
        try self.init(scripts: [script])
    }

    /// Binds 127.0.0.1 on a free port and starts serving: each request is answered by the first script whose
    /// `match` text the request contains (a script without one matches everything).
    public init(scripts: [ModelScript]) throws {
        self.scripts = scripts
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket", errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ServerError("bind", errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in self.acceptLoop() }
        thread.name = "scripted-model"
        thread.start()
    }

    /// Stops accepting, and ends connections that are being held open.
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while !isStopped {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in
                self.serve(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        guard let request = readRequest(fd) else { return }
        state.withLock { $0.requests.append(request) }
        if request.method == "GET" && request.path.hasSuffix("/models") {
            respond(fd, status: 200, contentType: "application/json", body: Data(#"{"models":[]}"#.utf8))
            return
        }
        guard request.method == "POST" && request.path.hasSuffix("/responses") else {
            respond(fd, status: 404, contentType: "application/json", body: Data(#"{"error":{"message":"not found"}}"#.utf8))
            return
        }
        let text = request.text
        guard let index = scripts.firstIndex(where: { $0.match.map { text.contains($0) } ?? true }) else {
            respond(fd, status: 400, contentType: "application/json", body: Data(#"{"error":{"message":"no script matches"}}"#.utf8))
            return
        }
        let script = scripts[index]
        let step = script.step(for: request.body)
        let (id, times) = state.withLock { state -> (String, Int) in
            state.responses += 1
            state.asked["\(index)/\(step)", default: 0] += 1
            return ("resp_\(state.responses)", state.asked["\(index)/\(step)"]!)
        }
        let reply = script.reply(step: step, times: times)
        switch reply {
        case .httpError(let status, let body):
            respond(fd, status: status, contentType: "application/json", body: Data(body.utf8))
        case .silence:
            write(fd, Self.streamHead)
            holdOpen(fd)
        case .drop:
            var body = Self.streamHead
            body.append(SSE.event(["type": "response.created", "response": ["id": id]]))
            write(fd, body)
        default:
            var body = Self.streamHead
            body.append(SSE.body(for: reply, id: id) ?? Data())
            write(fd, body)
        }
    }

    private static let streamHead = Data(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n".utf8
    )

    private func respond(_ fd: Int32, status: Int, contentType: String, body: Data) {
        var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\ncontent-type: \(contentType)\r\n"
        head += "content-length: \(body.count)\r\nconnection: close\r\n\r\n"
        var data = Data(head.utf8)
        data.append(body)
        write(fd, data)
    }

    /// Keeps a connection open, sending nothing, until the peer leaves or the server stops.
    private func holdOpen(_ fd: Int32) {
        var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var scratch = [UInt8](repeating: 0, count: 1024)
        while !isStopped {
            let ready = poll(&item, 1, 100)
            if ready > 0 {
                if read(fd, &scratch, scratch.count) <= 0 { return }
            }
        }
    }

    private func write(_ fd: Int32, _ data: Data) {
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    /// Reads one HTTP/1.1 request: head, then a body by `content-length` or chunked encoding.
    private func readRequest(_ fd: Int32) -> RecordedRequest? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let separator = Data("\r\n\r\n".utf8)
        func more() -> Bool {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        var headEnd: Range<Data.Index>?
        while headEnd == nil {
            guard buffer.count < 1 << 20, more() else { return nil }
            headEnd = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[..<headEnd!.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(buffer[headEnd!.upperBound...])
        if let length = headers["content-length"].flatMap(Int.init) {
            while body.count < length {
                let count = read(fd, &chunk, chunk.count)
                guard count > 0 else { return nil }
                body.append(contentsOf: chunk[0..<count])
            }
        } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var raw = body
            body = Data()
            while true {
                if let lineEnd = raw.range(of: Data("\r\n".utf8)),
                    let size = Int(String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16)
                {
                    if size == 0 { break }
                    let start = lineEnd.upperBound
                    if raw.count - (start - raw.startIndex) >= size + 2 {
                        body.append(raw[start..<(start + size)])
                        raw = Data(raw[(start + size + 2)...])
                        continue
                    }
                }
                let count = read(fd, &chunk, chunk.count)
                guard count > 0 else { return nil }
                raw.append(contentsOf: chunk[0..<count])
            }
        }
        return RecordedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }
}

/// A socket call of the scripted model server failed.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ call: String, _ code: Int32) { description = "\(call) failed: \(String(cString: strerror(code)))" }
}
