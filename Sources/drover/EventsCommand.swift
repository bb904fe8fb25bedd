import ArgumentParser
import Coordinator
import DroverClients
import DroverProtocol
import Foundation

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the event log, or follow the live event stream.",
        discussion:
            "Without --follow, reads the log from the state directory. With --follow, subscribes to the coordinator's stream and reports gaps in the sequence."
    )

    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Follow the live stream until interrupted.") var follow = false
    @Option(help: "Only events whose topic starts with this (todo.PLAN, worker.ID, agent, plan). Repeatable.")
    var topic: [String] = []
    @Option(help: "Only events with a sequence number above this (with --follow: catch up from there first).")
    var since: Int64?
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        if follow {
            if !topic.isEmpty {
                // With a topic filter the sequence has holes by design, so there are no gaps to repair.
                let subscriber = EventSubscriber(endpoint: location.eventsEndpoint, topics: topic, security: try location.keys.security())
                try await subscriber.withItems { items in
                    for await item in items where item.event.seq > (since ?? 0) { output(item.event) }
                }
                return
            }
            let follower = EventFollower(events: location.eventsEndpoint, control: try location.controlClient())
            try await follower.follow(after: since) { event in
                output(event)
                return true
            }
            return
        }
        let statePath = "\(location.stateDir)/state.sqlite"
        guard FileManager.default.fileExists(atPath: statePath) else {
            printError("no state at \(statePath): pass --state-dir, or use --follow to read a live coordinator's stream")
            throw ExitCode(1)
        }
        for event in try EventLog.read(statePath: statePath, after: since ?? 0)
        where topic.isEmpty || topic.contains(where: { event.topic.hasPrefix($0) }) {
            output(event)
        }
    }

    private func output(_ event: Event) {
        if json {
            print(event.json)
        } else {
            print(EventText.line(event))
        }
        flushOutput()
    }
}

/// One line per event for people.
enum EventText {
    static func line(_ event: Event) -> String {
        let time = Date(timeIntervalSince1970: Double(event.ts) / 1000).formatted(.iso8601.time(includingFractionalSeconds: true))
        let details = event.data.sorted { $0.key < $1.key }.map { key, value in "\(key)=\(describe(value))" }.joined(separator: " ")
        var subject = ""
        if let plan = event.plan, let todo = event.todo {
            subject = " \(plan)/\(todo)"
        } else if let plan = event.plan {
            subject = " \(plan)"
        }
        if let worker = event.worker { subject += " @\(worker)" }
        return "#\(event.seq) \(time) \(event.type)\(subject) \(details)"
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text):
            let flat = text.prefix(200).replacingOccurrences(of: "\n", with: "\\n")
            return flat.contains(" ") || flat.isEmpty ? "\"\(flat)\"" : flat
        case .int(let number): return "\(number)"
        case .double(let number): return "\(number)"
        case .bool(let flag): return "\(flag)"
        case .null: return "null"
        case .array, .object: return String(decoding: WireCodec().json(value), as: UTF8.self)
        }
    }
}
