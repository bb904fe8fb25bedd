import DroverClients
import DroverProtocol
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The dashboard's routes: the page, a JSON API over the control socket, metrics, and the live feed.
///
/// Every request, and every live feed's catch-up, goes through one ``ControlClient`` that the dashboard keeps for as
/// long as it runs.
struct DashboardAPI: Sendable {
    /// The client of the coordinator's control socket, shared by every request.
    var client: ControlClient
    var events: String
    var metrics: CoordinatorMetrics
    /// The readiness probe's client of the control socket: a connection of its own, with a short timeout.
    var probe: ControlClient

    func addRoutes(to router: Router<DashboardContext>) {
        router.get("/") { _, _ in Self.respond(DashboardPage.html, type: "text/html; charset=utf-8") }
        router.get("/metrics") { _, _ in Self.respond(metrics.exposition(), type: "text/plain; version=0.0.4; charset=utf-8") }
        // Liveness: this server runs only while the coordinator's loop does (it starts once the sockets are bound and
        // stops with the coordinator), so answering is the whole check; a loop that is merely slow must not be killed.
        router.get("/healthz") { _, _ in Self.respond("ok\n", type: "text/plain; charset=utf-8") }
        router.get("/readyz") { _, _ in
            let readiness = await readiness()
            return Self.respond(readiness.body, type: "text/plain; charset=utf-8", status: readiness.status)
        }
        router.get("/api/status") { _, _ in try await forward(.status, EmptyBody(), as: StatusBody.self) }
        router.get("/api/inbox") { _, _ in try await forward(.inbox, EmptyBody(), as: InboxBody.self) }
        router.get("/api/jobs") { _, _ in try await forward(.job, JobRequest(action: .list), as: JobsBody.self) }
        router.get("/api/report/:plan") { _, context in
            try await forward(.planReport, ReportRequest(plan: context.parameters.get("plan") ?? ""), as: PlanReport.self)
        }
        router.get("/api/jobs/:id") { _, context in
            try await forward(.job, JobRequest(action: .show, job: context.parameters.get("id")), as: JobsBody.self)
        }
        router.get("/api/review") { request, _ in
            try await forward(.review, ReviewRequest(plan: request.uri.queryParameters.get("plan")), as: ReviewBody.self)
        }
        router.get("/api/events") { request, _ in
            let after = request.uri.queryParameters.get("after", as: Int64.self) ?? 0
            return try await forward(.events, EventsRequest(after: after, limit: 1000), as: EventsBody.self)
        }
        router.post("/api/answer") { request, _ in
            if let refusal = Self.refuseCrossSite(request) { return refusal }
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let answer = try? JSONDecoder().decode(AnswerBody.self, from: Data(body.readableBytesView)) else {
                return Self.respond(
                    #"{"error":"the body must be JSON: {\"item\",\"decision\":\"approve|deny|reply\",\"text\",\"grants\",\"replan\",\"remember\"}"}"#,
                    status: .badRequest
                )
            }
            return try await forward(.answer, answer, as: AnswerBody.self)
        }
        router.post("/api/todo") { request, _ in
            if let refusal = Self.refuseCrossSite(request) { return refusal }
            let body = try await request.body.collect(upTo: 64 << 10)
            guard var todo = try? JSONDecoder().decode(TodoRequest.self, from: Data(body.readableBytesView)),
                Self.pageActions.contains(todo.action)
            else {
                return Self.respond(
                    #"{"error":"the body must be JSON: {\"plan\",\"todo\",\"action\":\"steer|pause|resume\",\"text\"}"}"#,
                    status: .badRequest
                )
            }
            todo.by = todo.by ?? "the dashboard"
            return try await forward(.todo, todo, as: TodoReply.self)
        }
        router.ws("/ws") { request, _ in
            // Another site's page must not read the stream through the browser (cross-site WebSocket hijacking).
            Self.sameOrigin(request) ? .upgrade([:]) : .dontUpgrade
        } onUpgrade: { inbound, outbound, context in
            let after = context.request.uri.queryParameters.get("after", as: Int64.self)
            try await feed(after: after, inbound: inbound, outbound: outbound)
        }
    }

    /// Sends every event after `after` to the browser until it goes away. A browser too slow for the stream loses
    /// the oldest of what waits for it, sees the gap in the sequence numbers, and fills it from `/api/events`.
    private func feed(after: Int64?, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (texts, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(10_000))
        let follower = EventFollower(events: events, control: client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await follower.follow(after: after) { event in
                    continuation.yield(event.json)
                    return !Task.isCancelled
                }
            }
            group.addTask {
                for try await _ in inbound {}  // until the browser closes the connection
            }
            group.addTask {
                for await text in texts { try await outbound.write(.text(text)) }
            }
            try await group.next()
            group.cancelAll()
            continuation.finish()
        }
    }

    /// What the page's TODO box may do to a TODO: the operator's voice in its session.
    static let pageActions: Set<TodoRequest.Action> = [.steer, .pause, .resume]

    /// Whether the coordinator takes requests: one `status` round trip on the probe's connection.
    private func readiness() async -> Readiness {
        do {
            return .of(.success(try await probe.request(.status, EmptyBody(), as: StatusBody.self)), timeout: probe.timeout)
        } catch {
            return .of(.failure(error), timeout: probe.timeout)
        }
    }

    /// A control request, its reply as JSON; a refusal becomes an HTTP error with the coordinator's reason.
    private func forward<Body: Encodable & Sendable, Reply: WireBody>(
        _ type: MessageType,
        _ body: Body,
        as reply: Reply.Type
    ) async throws -> Response {
        do {
            let value = try await client.request(type, body, as: reply)
            return Self.respond(String(decoding: WireCodec().json(value), as: UTF8.self), type: "application/json")
        } catch let error as ProtocolError {
            let status: HTTPResponse.Status = error.code == .rejected || error.code == .badField ? .badRequest : .internalServerError
            return Self.respond(Self.errorJSON(error.message, code: error.code.rawValue), status: status)
        } catch {
            return Self.respond(Self.errorJSON("\(error)", code: "unavailable"), status: .serviceUnavailable)
        }
    }

    /// Whether a request comes from the dashboard's own page, or from no web page at all (curl, scripts, WebSocket
    /// clients, which may send an `Origin` of their own such as `ws://host`): a browser names the page's web
    /// origin (`http(s)://…`, or `null`), and it must be this server.
    static func sameOrigin(_ request: Request) -> Bool {
        let host = request.head.authority
        return request.headers[values: .origin].allSatisfy { origin in
            guard origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://") else { return true }
            guard let host else { return false }
            return origin == "http://\(host)" || origin == "https://\(host)"
        }
    }

    /// The page can answer approval requests, so another site must not make a visitor's browser do it: an answer
    /// must be JSON (which a cross-site form cannot send without asking first) from this server's own page.
    static func refuseCrossSite(_ request: Request) -> Response? {
        guard sameOrigin(request) else {
            return respond(errorJSON("answers are taken from the dashboard's own page only", code: "forbidden"), status: .forbidden)
        }
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
            return respond(errorJSON("send the answer as application/json", code: "unsupported_media_type"), status: .unsupportedMediaType)
        }
        return nil
    }

    static func errorJSON(_ message: String, code: String) -> String {
        var text = ""
        JSONValue.object(["error": .string(message), "code": .string(code)]).appendJSON(to: &text)
        return text
    }

    static func respond(_ text: String, type: String = "application/json", status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: type, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
