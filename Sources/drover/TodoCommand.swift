import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct TodoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "todo",
        abstract: "Look at one TODO, take it up again, cancel, pause or resume it.",
        discussion: """
            show: its state and latest events. retry: a failed, escalated, cancelled or skipped TODO goes back to the \
            queue with fresh attempts, and what was skipped because of it is pending again. cancel: a running TODO is \
            stopped on its worker; a waiting one is cancelled at once. pause: a running codex session finishes its \
            turn, checkpoints and stops, and the TODO waits (paused), its slot free; a ready TODO is paused at once. \
            resume: a paused TODO is ready again, and its next session goes on from the checkpoint on its branch. \
            To give a running session guidance, see `drover steer`.
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable { case show, retry, cancel, pause, resume }

    @Argument(help: "show, retry, cancel, pause or resume.") var action: Action
    @Argument(help: "The TODO, as PLAN/TODO.") var todo: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        _ = try Self.key(todo)
    }

    /// PLAN/TODO as its two ids.
    static func key(_ todo: String) throws -> (plan: String, todo: String) {
        let parts = todo.split(separator: "/").map(String.init)
        guard parts.count == 2, Identifier.isValid(parts[0]), Identifier.isValid(parts[1]) else {
            throw ValidationError("give the TODO as PLAN/TODO (for example nightly/build), not \(todo)")
        }
        return (parts[0], parts[1])
    }

    func run() async throws {
        let parts = todo.split(separator: "/").map(String.init)
        let reply = try await location.controlClient().request(
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
        switch action {
        case .show: break
        case .retry: print("  retried")
        case .cancel: print("  cancel requested")
        case .pause:
            print(status.state == .paused ? "  paused" : "  pause requested: the session stops after its turn, then the TODO waits paused")
        case .resume: print("  resumed: ready again")
        }
        for event in reply.events.suffix(15) { print("  " + EventText.line(event)) }
    }
}
