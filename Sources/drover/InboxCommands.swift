import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct InboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "List what sessions wait for a human to decide (answer with approve, deny or answer)."
    )

    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the items as JSON.") var json = false

    func run() async throws {
        let inbox = try await location.controlClient().request(.inbox, EmptyBody(), as: InboxBody.self)
        if json {
            printJSON(inbox)
            return
        }
        if inbox.items.isEmpty { print("nothing waits for an answer") }
        for item in inbox.items {
            if item.kind == .permissions {
                for line in JobText.permissionsItem(item) { print(line) }
                continue
            }
            if item.kind == .merge {
                print("\(item.id)  merge of \(item.plan)/\(item.todo) (the queue waits)")
            } else if item.kind == .budget, !item.todo.isEmpty {
                print("\(item.id)  cost cap of \(item.plan)/\(item.todo) (the TODO is paused)")
            } else if item.kind == .budget {
                print("\(item.id)  cost cap of plan \(item.plan) (the plan is paused)")
            } else {
                print("\(item.id)  \(item.kind) from \(item.plan)/\(item.todo) on \(item.worker)")
            }
            print("    \(item.text)")
        }
        if inbox.items.contains(where: { $0.kind == .merge }) {
            print(
                "answer a merge with `drover approve ITEM` (try it again) or `drover deny ITEM --reason WHY` (leave that TODO's work out)"
            )
        }
        if inbox.items.contains(where: { ![.permissions, .merge].contains($0.kind) }) {
            print("answer with `drover approve ITEM`, `drover deny ITEM` or `drover answer ITEM TEXT`")
        }
        if inbox.items.contains(where: { $0.kind == .permissions }) {
            print(
                "answer permissions with `drover approve ITEM` (all), `drover answer ITEM --grant G …` (only those; add "
                    + "--replan to plan again without the rest), or `drover deny ITEM` (the job ends); --remember keeps it for the repository"
            )
        }
    }
}

/// `approve`, `deny` and `answer`: one answer to one inbox item.
struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer an inbox item with text, or a permissions item with the grants approved.",
        discussion: """
            `drover approve ITEM` and `drover deny ITEM` answer approvals, and approve or refuse every grant of a \
            permissions item. `drover answer ITEM --grant G --grant H` approves only those grants and refuses the rest: \
            the TODOs needing a refused grant are skipped, or with --replan the plan is made again without them. \
            --remember keeps the decision for the repository, so later jobs needing only those grants are not asked.
            """
    )

    @Argument(help: "The inbox item (see `drover inbox`), or PLAN/TODO when one item of it waits.") var item: String
    @Argument(help: "The answer (for a question).") var text: String?
    @Option(name: .customLong("grant"), help: "A grant of a permissions item to approve (repeat it); the others are refused.")
    var grants: [String] = []
    @Flag(help: "With --grant: make the plan again without the refused grants, rather than skip their TODOs.") var replan = false
    @Flag(help: "Keep the decision as policy for the job's repository.") var remember = false
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    /// Whether this answers a permissions item (with grants, replan or remember) rather than with text.
    var answersPermissions: Bool { !grants.isEmpty || replan || remember }

    func validate() throws {
        if answersPermissions {
            if text != nil {
                throw ValidationError("give either the answer's text or --grant/--replan/--remember (for a permissions item), not both")
            }
            if replan && grants.isEmpty {
                throw ValidationError("--replan goes with --grant: with every grant approved nothing is left out of the plan")
            }
            if let empty = grants.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw ValidationError("--grant \"\(empty)\" is empty: give a grant id as `drover inbox` lists it, e.g. network")
            }
        } else if (text ?? "").isEmpty {
            throw ValidationError(
                "give the answer's text: drover answer ITEM|PLAN/TODO TEXT (or, for a permissions item, --grant G … / --remember)"
            )
        }
    }

    func run() async throws {
        let client = try location.controlClient()
        let item = try await InboxReference.resolve(item, client: client)
        let reply =
            answersPermissions
            ? try await client.approvePermissions(item: item, grants: grants.isEmpty ? nil : grants, replan: replan, remember: remember)
            : try await client.answer(AnswerBody(item: item, decision: .reply, text: text))
        if json {
            printJSON(reply)
        } else if answersPermissions {
            let granted = reply.grants.map { "approved \($0.joined(separator: ", ")), refused the rest" } ?? "approved every grant"
            let replanned = reply.replan == true ? "; the plan is made again without the refused grants" : ""
            print("\(reply.item): \(granted)\(replanned)\(reply.remember == true ? "; remembered for the repository" : "")")
        } else {
            print("\(reply.item): answered")
        }
    }
}

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve an inbox item.")
    @OptionGroup var answer: ItemOptions
    func run() async throws { try await answer.send(.approve) }
}

struct DenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Deny an inbox item.")
    @OptionGroup var answer: ItemOptions
    @Option(help: "Why (for a merge item: why the TODO's work is left out of the integration branch).") var reason: String?
    func run() async throws { try await answer.send(.deny, text: reason) }
}

struct ItemOptions: ParsableArguments {
    @Argument(help: "The inbox item (see `drover inbox`), or PLAN/TODO when one item of it waits.") var item: String
    @Flag(help: "For a permissions item: keep the decision as policy for the job's repository.") var remember = false
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func send(_ decision: Decision, text: String? = nil) async throws {
        let client = try location.controlClient()
        let reply = try await client.answer(
            AnswerBody(
                item: try await InboxReference.resolve(item, client: client),
                decision: decision,
                text: text,
                remember: remember ? true : nil
            )
        )
        if json {
            printJSON(reply)
        } else {
            print("\(reply.item): \(decision == .approve ? "approved" : "denied")\(remember ? "; remembered for the repository" : "")")
        }
    }
}
