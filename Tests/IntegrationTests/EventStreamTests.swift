import DroverProtocol
import DroverTransport
import Foundation
import Testing

/// `drover events --follow` against a live coordinator: every state change arrives, in sequence, with no gap.
@Suite(.timeLimit(.minutes(2)))
struct EventStreamTests {
    @Test func followerSeesEveryEventOfAPlanInOrder() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            let follower = try TestProcess(
                name: "events",
                arguments: ["events", "--follow", "--json", "--events", endpoints.events],
                directory: cluster.directory
            )
            defer { follower.signal(SIGKILL) }
            // A subscription takes a moment to reach the publisher: probe until the follower sees something.
            var probe = 0
            while !follower.output.contains("plan.submitted") {
                probe += 1
                try #require(probe < 100, "the follower never received an event: \(follower.output)")
                try await cluster.submit(Plan(id: "probe\(probe)", title: "probe", todos: [Todo(id: "x", command: "true")]))
                try await Task.sleep(for: .milliseconds(100))
            }
            try cluster.startWorker("w1", slots: 2)
            let plan = Plan(id: "watched", title: "watched", todos: (0..<10).map { Todo(id: "t\($0)", command: "echo $DROVER_TODO") })
            try await cluster.submit(plan)
            _ = try await follower.waitForLine(containing: #""type":"plan.done","plan":"watched""#)

            let events = follower.output.split(separator: "\n").compactMap { line in
                try? JSONDecoder().decode(Event.self, from: Data(line.utf8))
            }
            let seqs = events.map(\.seq)
            #expect(seqs == Array(seqs[0]...seqs[0] + Int64(seqs.count - 1)), "no gap and no duplicate")
            #expect(!follower.output.contains("missed events"))
            let watched = events.filter { $0.plan == "watched" }
            #expect(watched.filter { $0.type == .todoDone }.count == 10)
            #expect(watched.contains { $0.type == .agent(.output) && $0.data["text"]?.stringValue == "t3\n" })
            #expect(watched.first { $0.type == .todoDone }.map { $0.topic.hasPrefix("todo.watched.") } == true)
        }
    }

    @Test func aLateJoinerCatchesUpWithNoGapAndNoDuplicate() async throws {
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            try await cluster.submit(Plan(id: "early", title: "early", todos: (0..<5).map { Todo(id: "e\($0)", command: "true") }))
            try await cluster.waitForPlan("early")

            // Joins after all of that: catches up from the start, then follows live.
            let follower = try TestProcess(
                name: "events",
                arguments: ["events", "--follow", "--since", "0", "--json", "--events", endpoints.events, "--control", endpoints.control],
                directory: cluster.directory
            )
            defer { follower.signal(SIGKILL) }
            _ = try await follower.waitForLine(containing: #""type":"plan.done","plan":"early""#)
            try await cluster.submit(Plan(id: "late", title: "late", todos: (0..<5).map { Todo(id: "l\($0)", command: "true") }))
            _ = try await follower.waitForLine(containing: #""type":"plan.done","plan":"late""#)

            let seqs = follower.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Event.self, from: Data($0.utf8)).seq }
            #expect(seqs.first == 1)
            #expect(seqs == Array(1...Int64(seqs.count)), "every event once, in order, across the catch-up and the live stream")
        }
    }
}
