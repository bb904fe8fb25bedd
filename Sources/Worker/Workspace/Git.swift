import DroverProtocol
import Foundation
import Synchronization

/// git as the worker runs it, the one place it is run from: never prompting for credentials, under a
/// ``GuardedProcess``, within a time limit, stopped when the calling task is cancelled. Commands name the repository
/// they work on with `-C`; a failure is a ``DroverError`` naming the command.
struct Git: Sendable {
    /// The directory git runs in: the worker's work directory.
    var directory: String

    /// Runs git; returns the tail of its output (stdout and stderr as they came); throws when it exits non-zero.
    /// `environment` adds to the worker's (`GIT_INDEX_FILE` for a temporary index).
    @discardableResult
    func callAsFunction(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let run = await self.run(arguments, environment: environment)
        guard run.status == 0 else { throw Self.failure(arguments, run) }
        return run.tail
    }

    /// Runs git and returns the first `limit` bytes of its standard output, and whether there was more; throws when
    /// it exits with a status not in `success` (non-zero, unless told: `git grep` finding nothing exits 1). For
    /// output read from its start, such as a diff.
    func head(_ arguments: [String], limit: Int, success: Set<Int32> = [0], environment: [String: String] = [:]) async throws
        -> (text: String, cut: Bool)
    {
        let kept = Mutex((data: Data(), cut: false))
        let run = await self.run(arguments, environment: environment) { chunk in
            guard chunk.stream == .stdout else { return }
            kept.withLock { kept in
                let room = limit - kept.data.count
                if chunk.data.count > room { kept.cut = true }
                if room > 0 { kept.data.append(chunk.data.prefix(room)) }
            }
        }
        guard success.contains(run.status), !run.timedOut else { throw Self.failure(arguments, run) }
        return kept.withLock { (String(decoding: $0.data, as: UTF8.self), $0.cut) }
    }

    /// The commit `ref` names in `repository`; nil when it names none.
    func commit(_ ref: String, in repository: String) async -> String? {
        guard let line = try? await self(["-C", repository, "rev-parse", "--verify", "--quiet", "\(ref)^{commit}"]) else { return nil }
        let commit = line.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// Whether `ref` names a commit in `repository`.
    func exists(_ ref: String, in repository: String) async -> Bool {
        await commit(ref, in: repository) != nil
    }

    /// Whether `ancestor` is in the history of `descendant` (or is it); throws when git cannot tell.
    func isAncestor(_ ancestor: String, of descendant: String, in repository: String) async throws -> Bool {
        let arguments = ["-C", repository, "merge-base", "--is-ancestor", ancestor, descendant]
        let run = await self.run(arguments)
        switch run.status {
        case 0: return true
        case 1: return false
        default: throw Self.failure(arguments, run)
        }
    }

    /// Gives the commits made in `worktree` an author and committer: drover.
    func identify(_ worktree: String) async throws {
        try await self(["-C", worktree, "config", "user.name", "drover"])
        try await self(["-C", worktree, "config", "user.email", "drover@localhost"])
    }

    private func run(
        _ arguments: [String],
        environment extra: [String: String] = [:],
        onOutput: @escaping @Sendable (GuardedProcess.Chunk) -> Void = { _ in }
    ) async -> ProcessRun {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["GIT_TERMINAL_PROMPT"] = "0"
        return await ProcessRun.run(
            ["/usr/bin/env", "git"] + arguments,
            environment: environment,
            directory: directory,
            timeout: 300,
            grace: .seconds(2),
            onOutput: onOutput
        )
    }

    private static func failure(_ arguments: [String], _ run: ProcessRun) -> DroverError {
        DroverError(
            .git,
            "git \(arguments.filter { !$0.hasPrefix("/") }.prefix(3).joined(separator: " ")) failed (\(run.status)): \(run.tail.suffix(500))"
        )
    }
}
