import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract:
            "Leave a TODO's work out of its plan's integration branch, try its merge again, or bring the branch up to date with its base.",
        discussion: """
            A plan with a repository merges each done TODO into drover/<plan>/integration, one at a time. A merge \
            that conflicts or breaks the integration checks is tried again as a repair by codex; a repair that fails \
            is escalated, and the merges that depend on it wait. skip PLAN/TODO: leave the TODO's work out (with \
            --reason), and what depends on it. retry PLAN/TODO: try its merge again. rebase PLAN: the base moved: \
            merge it into the integration branch as one more step of the queue (checked, repaired by codex on a \
            conflict, tagged).
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable { case skip, retry, rebase }

    @Argument(help: "skip, retry or rebase.") var action: Action
    @Argument(help: "The TODO, as PLAN/TODO (for rebase: the PLAN).") var todo: String
    @Option(help: "With skip: why its work is left out (kept in the event log).") var reason: String?
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        let parts = todo.split(separator: "/")
        if action == .rebase {
            guard parts.count == 1, Identifier.isValid(todo) else {
                throw ValidationError("give the plan for rebase (for example nightly), not \(todo)")
            }
        } else {
            guard parts.count == 2, Identifier.isValid(String(parts[0])), Identifier.isValid(String(parts[1])) else {
                throw ValidationError("give the TODO as PLAN/TODO (for example nightly/build), not \(todo)")
            }
        }
        if reason != nil && action != .skip { throw ValidationError("--reason goes with skip") }
        if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason is empty") }
    }

    func run() async throws {
        let parts = todo.split(separator: "/").map(String.init)
        let request = MergeRequest(
            plan: parts[0],
            todo: parts.count > 1 ? parts[1] : nil,
            action: MergeRequest.Action(rawValue: action.rawValue),
            reason: reason
        )
        let reply = try await location.controlClient().request(.merge, request, as: MergeReply.self)
        if json {
            printJSON(reply)
            return
        }
        switch action {
        case .skip: print("\(reply.plan)/\(reply.todo): its work is left out of drover/\(reply.plan)/integration (\(reply.state))")
        case .retry: print("\(reply.plan)/\(reply.todo): its merge is queued again (\(reply.state))")
        case .rebase:
            print("\(reply.plan): the base is merged into drover/\(reply.plan)/integration as step \(reply.todo) (\(reply.state))")
        }
    }
}
