import DroverProtocol
import Foundation

/// A TODO's codex thread, kept beside its checkpoint so that its next session, on any worker, goes on on the same
/// thread: a commit on `refs/drover/threads/<plan>/<todo>` whose tree holds the thread's rollout file at the path it
/// has under `CODEX_HOME` (`sessions/YYYY/MM/DD/rollout-<time>-<thread>.jsonl`). The commit is made from objects alone
/// (`hash-object`, a temporary index, `write-tree`, `commit-tree`): no worktree changes, nothing on the TODO's
/// branch. It is pushed to the TODO's repository, the next owner fetches it and writes the rollout into its own
/// session's `CODEX_HOME`, where codex finds it by the thread's id.
extension GitWorkspace {
    /// The ref that holds the stored thread of a TODO.
    static func threadRef(plan: String, todo: String) -> String {
        "refs/drover/threads/\(plan)/\(todo)"
    }

    /// The rollout of thread `id` in the `CODEX_HOME` `home`, as a path relative to it; nil when there is none.
    static func rollout(of id: String, in home: String) -> String? {
        let sessions = URL(fileURLWithPath: home).appendingPathComponent("sessions")
        guard let files = FileManager.default.enumerator(atPath: sessions.path) else { return nil }
        let suffix = "-\(id).jsonl"
        for case let path as String in files where path.hasSuffix(suffix) && (path as NSString).lastPathComponent.hasPrefix("rollout-") {
            return "sessions/\(path)"
        }
        return nil
    }

    /// Stores thread `id` of the session whose `CODEX_HOME` is `home` beside the checkpoint of `lease`'s TODO, in
    /// `repository`; throws naming what failed (no rollout, git). Returns the ref. The stored rollout has its secrets
    /// taken out, line by line (each a JSON record), as everything else the worker sends.
    @discardableResult
    func saveThread(
        _ id: String,
        home: String,
        repository: String,
        lease: LeaseRef,
        outcome: String,
        redactor: Redactor = Redactor()
    ) async throws -> String {
        guard let rollout = Self.rollout(of: id, in: home) else {
            throw DroverError(.codex, "codex left no rollout of thread \(id) in \(home)/sessions")
        }
        let ref = Self.threadRef(plan: lease.plan, todo: lease.todo)
        let git = self.git
        let root = self.root
        try await withClone(of: repository) { clone in
            let index = "\(root)/.drover-git/thread-index-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: index) }
            let temporary = ["GIT_INDEX_FILE": index]
            let redacted = index + ".rollout"
            defer { try? FileManager.default.removeItem(atPath: redacted) }
            let text = try String(contentsOfFile: "\(home)/\(rollout)", encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { redactor.redact(String($0)) }
            try lines.joined(separator: "\n").write(toFile: redacted, atomically: false, encoding: .utf8)
            let blob = try await git.head(["-C", clone, "hash-object", "-w", redacted], limit: 200).text
            try await git(
                ["-C", clone, "update-index", "--add", "--cacheinfo", "100644,\(Self.line(blob)),\(rollout)"],
                environment: temporary
            )
            let tree = try await git.head(["-C", clone, "write-tree"], limit: 200, environment: temporary).text
            let message = "drover: codex thread \(id) of \(lease.plan)/\(lease.todo), \(outcome) (epoch \(lease.epoch))"
            let commit = try await git.head(
                [
                    "-C", clone, "-c", "user.name=drover", "-c", "user.email=drover@localhost", "commit-tree", Self.line(tree), "-m",
                    message,
                ],
                limit: 200
            ).text
            try await git(["-C", clone, "push", "--quiet", "--force", "origin", "\(Self.line(commit)):\(ref)"])
        }
        return ref
    }

    /// Deletes the stored thread of `lease`'s TODO from `repository`, once its session ended in a way the next one
    /// does not go on from (``Outcome/continuesThread``). Returns the ref; throws naming what failed.
    func forgetThread(repository: String, lease: LeaseRef) async throws -> String {
        let ref = Self.threadRef(plan: lease.plan, todo: lease.todo)
        let git = self.git
        try await withClone(of: repository) { clone in
            _ = try await git(["-C", clone, "push", "--quiet", "origin", "--delete", ref])
        }
        return ref
    }

    /// Fetches the stored thread of `lease`'s TODO from `repository` and writes its rollout into the `CODEX_HOME`
    /// `home`; throws, saying why, when there is none, it is another thread, or it cannot be written.
    func restoreThread(_ id: String, into home: String, repository: String, lease: LeaseRef) async throws {
        let ref = Self.threadRef(plan: lease.plan, todo: lease.todo)
        let git = self.git
        let root = self.root
        try await withClone(of: repository) { clone in
            do {
                try await git(["-C", clone, "fetch", "--quiet", "origin", "+\(ref):\(ref)"])
            } catch {
                throw DroverError(.git, "\(repository) has no stored thread (\(ref)): \(error)")
            }
            let names = try await git.head(["-C", clone, "ls-tree", "-r", "--name-only", ref], limit: 1 << 16).text
            let suffix = "-\(id).jsonl"
            guard
                let rollout = names.split(separator: "\n").map(String.init).first(where: {
                    $0.hasPrefix("sessions/") && $0.hasSuffix(suffix)
                })
            else {
                throw DroverError(
                    .codex,
                    "\(ref) holds no rollout of thread \(id) (it holds: \(names.split(separator: "\n").joined(separator: ", ")))"
                )
            }
            let index = "\(root)/.drover-git/thread-index-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: index) }
            let temporary = ["GIT_INDEX_FILE": index]
            try await git(["-C", clone, "read-tree", ref], environment: temporary)
            try await git(["-C", clone, "--work-tree=\(home)", "checkout-index", "--force", "--all"], environment: temporary)
            _ = try? await git(["-C", clone, "update-ref", "-d", ref])  // fetched again when needed
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(home)/\(rollout)")[.size] as? Int) ?? 0
            guard size > 0 else { throw DroverError(.codex, "the rollout of thread \(id) from \(ref) is empty") }
        }
    }

    /// The first line of git's output, trimmed: an object id.
    private static func line(_ output: String) -> String {
        output.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
