import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct TodoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "todo",
        abstract: "Look at one TODO, take it up again, or cancel it.",
        discussion: """
            show: its state and latest events. retry: a failed, escalated, cancelled or skipped TODO goes back to the \
            queue with fresh attempts, and what was skipped because of it is pending again. cancel: a running TODO is \
            stopped on its worker; a waiting one is cancelled at once.
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable { case show, retry, cancel }

    @Argument(help: "show, retry or cancel.") var action: Action
    @Argument(help: "The TODO, as PLAN/TODO.") var todo: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        let parts = todo.split(separator: "/")
        guard parts.count == 2, Identifier.isValid(String(parts[0])), Identifier.isValid(String(parts[1])) else {
            throw ValidationError("give the TODO as PLAN/TODO (for example nightly/build), not \(todo)")
        }
    }

    func run() async throws {
        let parts = todo.split(separator: "/").map(String.init)
        let reply = try await ControlClient(endpoint: location.controlEndpoint).request(
            .todo,
            TodoRequest(plan: parts[0], todo: parts[1], action: TodoRequest.Action(rawValue: action.rawValue)),
            as: TodoReply.self
        )
        if json {
            printJSON(reply)
            return
        }
        let status = reply.todo
        print(
            "\(status.plan)/\(status.id) [\(status.state)] epoch \(status.epoch), \(status.attempts) failed attempts"
                + (status.worker.map { ", on \($0)" } ?? "") + (status.resumeNote().map { ", \($0)" } ?? "")
        )
        if let detail = status.detail { print("  \(detail)") }
        if action != .show { print("  \(action == .retry ? "retried" : "cancel requested")") }
        for event in reply.events.suffix(15) { print("  " + EventText.line(event)) }
    }
}
