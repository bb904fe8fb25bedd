import ArgumentParser
import Coordinator
import DroverProtocol
import Foundation

/// `drover token create|list|revoke`: the dashboard's login tokens, kept hashed in the state directory.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make, list or revoke the dashboard's login tokens (needed when it listens beyond loopback).",
        discussion: "Run on the coordinator's host: the tokens are kept, hashed, in its state directory, and take effect at once.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token; it is printed this once only.")

        @Argument(help: "Whose token it is (a person or a script), e.g. alice.") var name: String
        @Option(help: "operator (answers, approves, steers, cancels) or observer (sees everything, changes nothing).")
        var role = "observer"
        @Option(help: "The coordinator's state directory.") var stateDir = ".drover"
        @Flag(help: "Print the token as JSON.") var json = false

        func validate() throws {
            guard let role = Role(rawValue: role), DashboardTokens.roles.contains(role) else {
                throw ValidationError("--role must be operator or observer, not \(role)")
            }
        }

        func run() throws {
            let token = try DashboardTokens(stateDirectory: stateDir).create(name: name, role: Role(rawValue: role)!)
            if json {
                printJSON(["name": name, "role": role, "token": token])
            } else {
                print(token)
                printError(
                    "token of \(role) \(name), kept hashed in \(stateDir)/\(DashboardTokens.fileName); it is not shown again. "
                        + "Log in with it on the dashboard's page, or send it as `Authorization: Bearer TOKEN`."
                )
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tokens there are (names and roles; never the tokens).")

        @Option(help: "The coordinator's state directory.") var stateDir = ".drover"
        @Flag(help: "Print them as JSON.") var json = false

        func run() throws {
            let entries = try DashboardTokens(stateDirectory: stateDir).entries()
            if json {
                printJSON(entries.map { ["name": $0.name, "role": $0.role.rawValue, "created": "\($0.created)"] })
                return
            }
            if entries.isEmpty { print("no dashboard tokens: make one with `drover token create NAME --role operator|observer`") }
            for entry in entries {
                let created = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(entry.created)))
                print("\(entry.name)\t\(entry.role)\tmade \(created)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its sessions end at their next request.")

        @Argument(help: "The token's name.") var name: String
        @Option(help: "The coordinator's state directory.") var stateDir = ".drover"

        func run() throws {
            guard try DashboardTokens(stateDirectory: stateDir).revoke(name: name) else {
                printError("no token named \(name) in \(stateDir) (see `drover token list`)")
                throw ExitCode(1)
            }
            print("revoked \(name)")
        }
    }
}
