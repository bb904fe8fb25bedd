import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "The permission decisions kept per repository (answers given with --remember).",
        subcommands: [List.self, Forget.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the remembered decisions: all, or one repository's.")
        @Option(help: "Only this repository's (as the job named it: its absolute path or URL).") var repository: String?
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the rules as JSON.") var json = false

        func run() async throws {
            let repository = self.repository.map(GitRepositoryCheck.name)
            let rules = try await location.controlClient().policy(repository: repository)
            if json {
                printJSON(PolicyBody(rules: rules))
                return
            }
            if rules.isEmpty {
                print(
                    "nothing remembered" + (repository.map { " for \($0)" } ?? "")
                        + ": answer a permissions item with --remember to keep it"
                )
            }
            for rule in rules { print(JobText.ruleLine(rule)) }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget a repository's remembered decisions (all, or one grant's): later jobs ask again."
        )
        @Option(help: "The repository (its path or URL).") var repository: String
        @Option(help: "Only this grant (e.g. network, risk:high, write:/srv/cache).") var grant: String?
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the forgotten rules as JSON.") var json = false

        func validate() throws {
            if repository.isEmpty { throw ValidationError("--repository is empty: give the repository whose decisions to forget") }
        }

        func run() async throws {
            let repository = GitRepositoryCheck.name(of: self.repository)
            let rules = try await location.controlClient().forgetPolicy(repository: repository, grant: grant)
            if json {
                printJSON(PolicyBody(rules: rules))
                return
            }
            if rules.isEmpty {
                print("nothing was remembered for \(repository)" + (grant.map { " about \($0)" } ?? "") + " (see `drover policy list`)")
            }
            for rule in rules { print("forgot " + JobText.ruleLine(rule)) }
        }
    }
}
