import DroverProtocol
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import ScriptedModel
import Synchronization
import Testing
import Worker

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The web dashboard in a real headless Chromium, and its HTTP API and metrics.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DashboardTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The page renders, a live update arrives over the WebSocket, and an answer typed into the inbox reaches the
    /// real codex session that asked, which then finishes its TODO. The screenshot is kept in `.build/artifacts`.
    @Test(
        .enabled(if: chromium != nil, "needs Chromium (apt install chromium)"),
        .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
    )
    func anInboxAnswerFromTheBrowserReachesTheSession() async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.message("Shall I drop the staging table?"), .shell("echo dropped > done.txt"), .message("Done.")])
        )
        defer { server.stop() }
        let artifacts = Self.repository.appendingPathComponent(".build/artifacts").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = "\(artifacts)/dashboard.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            try cluster.startWorker(
                "codex-1",
                extra: ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(cluster.directory)/codex-home"]
            )
            try await cluster.waitForStatus("the worker to register") { $0.workers.count == 1 }
            let browser = try cluster.startCommand(
                "chromium",
                [
                    "/usr/bin/env", "python3", Self.repository.appendingPathComponent("Tests/Browser/dashboard_check.py").path,
                    "--url", try #require(cluster.dashboard), "--chromium", try #require(Self.chromium), "--worker", "codex-1",
                    "--answer", "yes, only staging", "--screenshot", screenshot,
                ]
            )
            _ = try await browser.waitForLine(containing: "READY", timeout: .seconds(60))
            // Submitted only now, so every event of it reaches the page live.
            let todo = Todo(id: "db", prompt: "Clean up the database.", checks: [Check(file: "done.txt")], risk: .high)
            try await cluster.submit(Plan(id: "web", title: "web", todos: [todo]))
            #expect(try await browser.wait(timeout: .seconds(120)) == 0, "\(browser.output)")
            #expect(browser.output.contains("ANSWERED"))
            let status = try await cluster.waitForPlan("web")
            #expect(status.todos.first?.state == .done)
            #expect(server.responseRequests.contains { $0.text.contains("yes, only staging") }, "the answer reached the model")
            let png = try #require(FileManager.default.contents(atPath: screenshot))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot")
            #expect(png.count > 10_000, "a screenshot of a rendered page, not an empty one")
        }
    }

    func get(_ url: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func post(_ url: String, _ body: String, headers: [String: String] = ["Content-Type": "application/json"]) async throws -> (
        status: Int, body: String
    ) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func theApiAndMetricsAnswerOverHttpAndMetricsMove() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let base = try #require(cluster.dashboard)
            let before = try await get(base + "metrics")
            #expect(before.status == 200)
            #expect(before.body.contains("drover_workers 0"))
            try cluster.startWorker("w1")
            try await cluster.submit(Plan(id: "m", title: "m", todos: [Todo(id: "a", command: "true"), Todo(id: "b", command: "true")]))
            try await cluster.waitForPlan("m")
            var metrics = ""
            for _ in 0..<50 {
                metrics = try await get(base + "metrics").body
                if metrics.contains(#"drover_todos{state="done"} 2"#) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(metrics.contains(#"drover_todos{state="done"} 2"#))
            #expect(metrics.contains("drover_workers 1"))
            #expect(metrics.contains("drover_queue_latency_seconds_count 2"))

            let page = try await get(base)
            #expect(page.status == 200 && page.body.contains("<title>Drover</title>"))
            #expect(page.body.contains("the model's opinion, not checked facts"), "a report's AI review is labelled as such")
            let status = try JSONDecoder().decode(StatusBody.self, from: Data(try await get(base + "api/status").body.utf8))
            #expect(status.todos.map(\.id) == ["a", "b"])
            let review = try JSONDecoder().decode(ReviewBody.self, from: Data(try await get(base + "api/review").body.utf8))
            #expect(review.progress.done == 2)
            let bad = try await post(base + "api/answer", "{not json")
            #expect(bad.status == 400 && bad.body.contains("must be JSON"))
            let unknown = try await post(base + "api/answer", #"{"item":"nope","decision":"approve"}"#)
            #expect(unknown.status == 400 && unknown.body.contains("no inbox item nope"))
            #expect(try await get(base + "api/review?plan=zzz").status == 400)
            // The steer box: a TODO that is not running is refused with its state; only the operator's voice goes.
            #expect(page.body.contains(#"id="steer-text""#))
            let steerDone = try await post(base + "api/todo", #"{"plan":"m","todo":"a","action":"steer","text":"hello"}"#)
            #expect(
                steerDone.status == 400 && steerDone.body.contains("m/a is done: only a running TODO can be steered"),
                "\(steerDone.body)"
            )
            let cancel = try await post(base + "api/todo", #"{"plan":"m","todo":"a","action":"cancel"}"#)
            #expect(cancel.status == 400 && cancel.body.contains("steer|pause|resume"))
            // Another site's page cannot answer for a visitor: no plain-text posts, no foreign origin.
            let answer = #"{"item":"nope","decision":"approve"}"#
            #expect(try await post(base + "api/answer", answer, headers: ["Content-Type": "text/plain"]).status == 415)
            let foreign = try await post(
                base + "api/answer",
                answer,
                headers: ["Content-Type": "application/json", "Origin": "http://evil.example"]
            )
            #expect(foreign.status == 403 && foreign.body.contains("dashboard's own page"))
        }
    }

    /// The API's requests share the dashboard's one control connection: many at once each get the reply to their own.
    @Test func concurrentApiRequestsEachGetTheirOwnReply() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let base = try #require(cluster.dashboard)
            try cluster.startWorker("w1")
            try await cluster.submit(Plan(id: "c", title: "c", todos: (0..<5).map { Todo(id: "t\($0)", command: "true") }))
            let done = try await cluster.waitForPlan("c")
            try #require(done.seq >= 20, "enough events to ask for pages from 20 places")
            let replies = try await withThrowingTaskGroup(of: (after: Int64?, status: Int, body: String).self) { group in
                for after in Int64(0)..<20 {
                    for _ in 0..<3 {
                        group.addTask {
                            let reply = try await get(base + "api/events?after=\(after)")
                            return (after, reply.status, reply.body)
                        }
                    }
                    group.addTask {
                        let reply = try await get(base + "api/status")
                        return (nil, reply.status, reply.body)
                    }
                }
                var replies: [(after: Int64?, status: Int, body: String)] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            #expect(replies.count == 80)
            for reply in replies {
                #expect(reply.status == 200, "\(reply.body)")
                if let after = reply.after {
                    let page = try JSONDecoder().decode(EventsBody.self, from: Data(reply.body.utf8))
                    #expect(page.events.first?.seq == after + 1, "the page after \(after)")
                } else {
                    let status = try JSONDecoder().decode(StatusBody.self, from: Data(reply.body.utf8))
                    #expect(status.plans.map(\.id) == ["c"])
                }
            }
        }
    }

    /// What a WebSocket client received, and whether it was let in.
    final class Received: Sendable {
        let events = Mutex<[Event]>([])
    }

    /// Connects to the dashboard's feed, collects events until `count` arrived (or the server refuses).
    func feed(_ url: String, origin: String?, count: Int) async throws -> [Event] {
        let received = Received()
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await WebSocketClient.connect(url: url, configuration: .init(additionalHeaders: headers), logger: logger) { inbound, _, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                let total = received.events.withLock { events in
                    if let event = try? WireCodec().decode(Event.self, from: Data(text.utf8)) { events.append(event) }
                    return events.count
                }
                if total >= count { return }
            }
        }
        return received.events.withLock { $0 }
    }

    @Test func theLiveFeedServesClientsButNotOtherSitesPages() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let url = try #require(cluster.dashboard).replacingOccurrences(of: "http://", with: "ws://") + "ws?after=0"
            // A script (its client sends `Origin: ws://127.0.0.1`) gets the log from the start, in order.
            let events = try await feed(url, origin: nil, count: 1)
            #expect(events.first?.seq == 1 && events.first?.type == .coordinatorStarted)
            // A page of another site does not.
            let foreign = (try? await feed(url, origin: "http://evil.example", count: 1)) ?? []
            #expect(foreign.isEmpty, "the upgrade is refused")
            // Its own page is let in.
            let own = try await feed(url, origin: try #require(cluster.dashboard).dropLast().description, count: 1)
            #expect(own.first?.seq == 1)
        }
    }
}
