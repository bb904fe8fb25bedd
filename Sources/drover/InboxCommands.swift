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
        let inbox = try await ControlClient(endpoint: location.controlEndpoint).request(.inbox, EmptyBody(), as: InboxBody.self)
        if json {
            printJSON(inbox)
            return
        }
        if inbox.items.isEmpty { print("nothing waits for an answer") }
        for item in inbox.items {
            print("\(item.id)  \(item.kind) from \(item.plan)/\(item.todo) on \(item.worker)")
            print("    \(item.text)")
        }
        if !inbox.items.isEmpty { print("answer with `drover approve ITEM`, `drover deny ITEM` or `drover answer ITEM TEXT`") }
    }
}

/// `approve`, `deny` and `answer`: one answer to one inbox item.
struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer an inbox item with text.",
        discussion: "`drover approve ITEM` and `drover deny ITEM` answer approvals."
    )

    @Argument(help: "The inbox item (see `drover inbox`), or PLAN/TODO when one item of it waits.") var item: String
    @Argument(help: "The answer.") var text: String?
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        if (text ?? "").isEmpty { throw ValidationError("give the answer's text: drover answer ITEM|PLAN/TODO TEXT") }
    }

    func run() async throws {
        let client = ControlClient(endpoint: location.controlEndpoint)
        let reply = try await client.request(
            .answer,
            AnswerBody(item: try await InboxReference.resolve(item, client: client), decision: .reply, text: text),
            as: AnswerBody.self
        )
        if json { printJSON(reply) } else { print("\(reply.item): answered") }
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
    func run() async throws { try await answer.send(.deny) }
}

struct ItemOptions: ParsableArguments {
    @Argument(help: "The inbox item (see `drover inbox`), or PLAN/TODO when one item of it waits.") var item: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func send(_ decision: Decision) async throws {
        let client = ControlClient(endpoint: location.controlEndpoint)
        let reply = try await client.request(
            .answer,
            AnswerBody(item: try await InboxReference.resolve(item, client: client), decision: decision),
            as: AnswerBody.self
        )
        if json { printJSON(reply) } else { print("\(reply.item): \(decision == .approve ? "approved" : "denied")") }
    }
}
