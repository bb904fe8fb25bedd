import ArgumentParser
import Coordinator
import DroverClients
import DroverProtocol
import DroverTransport
import Foundation
import Logging
import Worker

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Move a plan's integration branch back to one of its tags (default: its base).",
        discussion: """
            The coordinator's rule says what the rollback undoes and where Drover left the branch; the branch is then \
            moved with --force-with-lease (refused, with nothing changed, when someone pushed to it since), and the \
            TODOs merged after the tag are marked not integrated: `drover merge retry PLAN/TODO` queues one again. \
            Who did it and why goes to the event log and the audit log.

            With --control, the coordinator there is asked. With --state-dir DIR (as after `drover run` ended), the \
            same rule runs on DIR's state with no coordinator, and the result is written there; refused while a \
            coordinator runs on DIR. With neither, .drover is used that way when no coordinator runs on it, else the \
            coordinator that does (or the one on the default port) is asked.
            """
    )

    @Argument(help: "The plan id.") var plan: String
    @Option(help: "The tag to go back to: drover/PLAN/base (the default) or drover/PLAN/after-TODO.") var to: String?
    @Option(help: "Why, for the audit log.") var reason: String?
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        if let problem = Identifier.problem(with: plan) { throw ValidationError("the plan id \(problem)") }
        if let to, !GitRef.isValidBranch(to) { throw ValidationError("--to \"\(to)\" is not a valid tag name") }
    }

    func run() async throws {
        if let state = try openStateDirectory() {
            defer { state.close() }
            try await rollback { request in try state.operate(request) }
        } else {
            let client = try location.controlClient()
            try await rollback { request in try await client.request(.rollback, request, as: RollbackReply.self) }
        }
    }

    /// The state directory to work on with no coordinator, or nil to ask the coordinator: see the discussion.
    private func openStateDirectory() throws -> StateDirectory? {
        guard location.control == nil else { return nil }
        let directory = location.stateDir
        guard location.explicitStateDir != nil || FileManager.default.fileExists(atPath: "\(directory)/state.sqlite") else { return nil }
        let logger = bootstrapLogging(label: "drover.rollback", level: .warning)
        do {
            return try StateDirectory.open(directory, holder: "drover rollback", logger: logger)
        } catch StateDirectoryError.inUse(let held) {
            guard held.holder == "coordinator" else {
                printError("\(held): wait for it to end; nothing was changed")
                throw ExitCode(1)
            }
            // With no --state-dir, the coordinator running on .drover is the one to ask.
            guard location.explicitStateDir != nil else { return nil }
            let control = EndpointsFile.read(in: directory).map { Endpoints.connectable($0.control) } ?? "ENDPOINT"
            printError(
                "\(held.who) is running on \(directory): run the rollback through it with --control \(control) (a "
                    + "state directory is changed directly only when no coordinator runs on it); nothing was changed"
            )
            throw ExitCode(1)
        }
    }

    /// Checks, moves the branch, records: `answer` answers each step, by the coordinator's rule.
    private func rollback(_ answer: (RollbackRequest) async throws -> RollbackReply) async throws {
        let check = try await answer(RollbackRequest(plan: plan, step: .check, tag: to))
        let repository = check.repository
        let current = try await remoteCommit("refs/heads/\(check.branch)", in: repository)
        guard current == check.expect else {
            throw ValidationError(
                "\(check.branch) moved since Drover's last merge (someone pushed to it): it is at \(current ?? "nothing"), Drover left it at "
                    + "\(check.expect ?? "nothing"); nothing was changed"
            )
        }
        guard let target = try await remoteCommit("refs/tags/\(check.tag)", in: repository) else {
            throw ValidationError("the tag \(check.tag) is not in \(repository)")
        }
        try await move(check.branch, from: current, to: target, tag: check.tag, in: repository)
        let reply = try await answer(
            RollbackRequest(
                plan: plan,
                step: .record,
                tag: check.tag,
                head: target,
                reason: reason,
                by: ProcessInfo.processInfo.environment["USER"]
            )
        )
        if json {
            printJSON(reply)
            return
        }
        print("\(check.branch) is back at \(check.tag) (\(target.prefix(12)))")
        if !reply.undone.isEmpty {
            print("not integrated any more: \(reply.undone.joined(separator: ", ")) (`drover merge retry \(plan)/TODO` queues one again)")
        }
    }

    /// The commit `ref` names in `repository`, nil when it has no such ref (a tag's commit, when it is annotated).
    private func remoteCommit(_ ref: String, in repository: String) async throws -> String? {
        let output = try await git(["ls-remote", repository, ref, "\(ref)^{}"], in: nil)
        let lines = output.split(separator: "\n").map { $0.split(separator: "\t") }
        let peeled = lines.first { $0.count == 2 && $0[1].hasSuffix("^{}") }
        return (peeled ?? lines.first { $0.count == 2 }).map { String($0[0]) }
    }

    /// Moves `branch` from `current` to `target` with a lease, from a scratch repository holding the tag's commit.
    private func move(_ branch: String, from current: String?, to target: String, tag: String, in repository: String) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("drover-rollback-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try await git(["init", "--quiet", "--bare", scratch], in: nil)
        _ = try await git(["fetch", "--quiet", repository, "+refs/tags/\(tag):refs/tags/\(tag)"], in: scratch)
        _ = try await git(
            ["push", "--quiet", "--force-with-lease=refs/heads/\(branch):\(current ?? "")", repository, "\(target):refs/heads/\(branch)"],
            in: scratch
        )
    }

    private func git(_ arguments: [String], in directory: String?) async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        let prefix = directory.map { ["--git-dir", $0] } ?? []
        let (status, output) = try await GuardedProcess.output(
            of: ["/usr/bin/env", "git"] + prefix + arguments,
            in: nil,
            environment: environment
        )
        guard status == 0 else { throw ValidationError("git \(arguments.prefix(2).joined(separator: " ")) failed: \(output.suffix(400))") }
        return output
    }
}
