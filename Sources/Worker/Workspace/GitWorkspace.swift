import DroverProtocol
import Foundation

/// A TODO's own git worktree, on its own branch, checkpointed back to the shared repository after its run.
///
/// Each worker keeps one clone per repository under `<root>/.drover-git/` and adds a worktree per lease under
/// `<root>/worktrees/`. The worktree starts from the TODO's branch if the repository already has it (work an earlier
/// attempt pushed, perhaps from another host), otherwise from its base (``TaskSpec/base``, the repository's default
/// branch when there is none). After the run, whatever changed is committed and pushed to the branch without force,
/// so a stale owner cannot overwrite the branch of a newer epoch.
///
/// With no branch the worktree is detached at the base: read-only work (a job's steps) that is never committed.
struct GitWorkspace {
    /// The worker's work directory.
    var root: String
    /// The worker's id: workers that share a work directory (`drover run`) keep their clones apart.
    var worker: String
    /// A lease's worktree.
    struct Worktree: Sendable {
        var path: String
        /// nil for a detached worktree.
        var branch: String?
        /// What the work is counted against: `origin/<base>`, or `origin/HEAD` for the default branch.
        var base: String
        /// The branch's commit when the worktree was made; empty when the branch did not exist yet.
        var startedAt: String
        /// What it started from, for people: the branch itself, its base, or the default branch.
        var startedFrom: String
        /// The dependency branches merged into the new branch, in order (none for a branch that existed).
        var merged: [String] = []
        /// Whether the branch holds the work of its dependencies: its changed files are then its own commits' only.
        var hasDependencies = false
    }

    /// Makes the worktree for a lease: on `branch`, or detached when it is nil; a new branch starts from `base` with
    /// the branches in `merging` (the work of the TODOs it depends on) merged in, in order.
    func prepare(repository: String, branch: String?, base: String? = nil, merging: [String] = [], lease: LeaseRef) async throws
        -> Worktree
    {
        try await withClone(of: repository) { clone in
            var worktree = try await prepare(clone: clone, repository: repository, branch: branch, base: base, lease: lease)
            worktree.hasDependencies = !merging.isEmpty
            guard worktree.branch != nil, worktree.startedAt.isEmpty, !merging.isEmpty else { return worktree }
            worktree.merged = try await merge(merging, into: worktree, clone: clone, repository: repository)
            return worktree
        }
    }

    /// This worker's clone of `repository`.
    func clone(of repository: String) -> String {
        "\(root)/.drover-git/\(Self.safe(worker))/\(Self.safe(repository)).git"
    }

    /// Runs `body` on this worker's clone of `repository`, fetched first (cloned the first time; with the remote's
    /// tags as they are there when `tags`, moved or deleted ones too), holding the clone's lock: the slots of one
    /// worker share the clone, one git operation on it at a time.
    func withClone<T: Sendable>(of repository: String, tags: Bool = false, _ body: @Sendable (String) async throws -> T)
        async throws -> T
    {
        let clone = clone(of: repository)
        return try await CloneLocks.shared.withLock(clone) {
            if FileManager.default.fileExists(atPath: "\(clone)/.git") {
                if !tags { try await git(["-C", clone, "fetch", "--prune", "origin"]) }
            } else {
                try FileManager.default.createDirectory(
                    atPath: (clone as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                try? FileManager.default.removeItem(atPath: clone)
                try await git(["clone", "--quiet", "--no-checkout", repository, clone])
            }
            if tags {
                try await git([
                    "-C", clone, "fetch", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*",
                ])
            }
            return try await body(clone)
        }
    }

    /// Where the worktree named `name` lives.
    func worktreeDirectory(_ name: String) -> String {
        "\(root)/worktrees/\(Self.safe(name))"
    }

    /// A path for a new worktree of `clone` named `name`, with nothing left there by an earlier run.
    func worktreePath(_ name: String, clone: String) async throws -> String {
        let path = worktreeDirectory(name)
        if FileManager.default.fileExists(atPath: path) {
            _ = try? await git(["-C", clone, "worktree", "remove", "--force", path])
            try? FileManager.default.removeItem(atPath: path)
        }
        try await git(["-C", clone, "worktree", "prune"])
        return path
    }

    /// Merges each dependency branch into a new branch's worktree. A dependency whose branch the repository lacks
    /// (it changed nothing) is passed over; dependencies whose work conflicts stop the preparation, naming the files.
    private func merge(_ branches: [String], into worktree: Worktree, clone: String, repository: String) async throws -> [String] {
        var merged: [String] = []
        for branch in branches {
            guard await git.exists("refs/remotes/origin/\(branch)", in: clone) else { continue }
            do {
                try await git([
                    "-C", worktree.path, "merge", "--quiet", "--no-edit", "--no-ff", "-m", "drover: start from \(branch)",
                    "origin/\(branch)",
                ])
            } catch {
                let conflicted = (try? await git(["-C", worktree.path, "diff", "--name-only", "--diff-filter=U"])) ?? ""
                _ = try? await git(["-C", worktree.path, "merge", "--abort"])
                let files = conflicted.split(separator: "\n").joined(separator: ", ")
                throw DroverError(
                    .git,
                    "the work of the TODOs this one depends on conflicts: merging \(branch) after "
                        + "\(merged.isEmpty ? "the base" : merged.joined(separator: ", ")) conflicts in \(files.isEmpty ? "some files" : files)"
                )
            }
            merged.append(branch)
        }
        return merged
    }

    private func prepare(clone: String, repository: String, branch: String?, base: String?, lease: LeaseRef) async throws
        -> Worktree
    {
        let path = try await worktreePath("\(worker)-\(lease.plan)-\(lease.todo)-\(lease.epoch)", clone: clone)
        let baseRef = try await baseRef(base, clone: clone, repository: repository)
        let baseName = base ?? "the default branch"
        guard let branch else {
            try await git(["-C", clone, "worktree", "add", "--quiet", "--detach", path, baseRef])
            return Worktree(path: path, branch: nil, base: baseRef, startedAt: "", startedFrom: baseName)
        }
        let hasBranch = await git.exists("refs/remotes/origin/\(branch)", in: clone)
        let start = hasBranch ? "origin/\(branch)" : baseRef
        try await git(["-C", clone, "worktree", "add", "--quiet", "-B", branch, path, start])
        try await git.identify(path)
        let head = hasBranch ? try await git(["-C", path, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return Worktree(path: path, branch: branch, base: baseRef, startedAt: head, startedFrom: hasBranch ? branch : baseName)
    }

    /// The remote ref of `base` in the clone (`origin/HEAD` for nil); a base the remote does not have is an error
    /// that names it, not a worktree of something else.
    func baseRef(_ base: String?, clone: String, repository: String) async throws -> String {
        guard let base else { return "origin/HEAD" }
        guard await git.exists("refs/remotes/origin/\(base)", in: clone) else {
            throw DroverError(.git, "the base branch \"\(base)\" does not exist in \(repository)")
        }
        return "origin/\(base)"
    }

    /// Commits what changed and pushes the branch. Returns a line for the report, and moves `worktree.startedAt` to
    /// the commit pushed, which the next checkpoint's lease is then taken on.
    func checkpoint(_ worktree: inout Worktree, lease: LeaseRef, outcome: String) async throws -> String {
        let path = worktree.path
        guard let branch = worktree.branch else { throw DroverError(.git, "a detached worktree is never checkpointed") }
        try await git(["-C", path, "add", "--all"])
        let unchanged = (try? await git(["-C", path, "diff", "--cached", "--quiet"])) != nil
        if !unchanged {
            let message = "drover: \(lease.todo) \(outcome) (plan \(lease.plan), epoch \(lease.epoch))"
            try await git(["-C", path, "commit", "--quiet", "--no-verify", "-m", message])
        }
        let fence = "--force-with-lease=refs/heads/\(branch):\(worktree.startedAt)"
        do {
            try await git(["-C", path, "push", "--quiet", fence, "origin", "HEAD:refs/heads/\(branch)"])
        } catch {
            throw DroverError(.git, "the checkpoint was not pushed: \(branch) moved on since this run began (a newer owner?): \(error)")
        }
        let head = try await git(["-C", path, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        worktree.startedAt = head
        let short = String(head.prefix(7))
        return unchanged ? "no changes; \(branch) is at \(short)" : "checkpoint \(short) pushed to \(branch)"
    }

    /// What the branch changed since it left its base: its files, for the coordinator's scheduling and review
    /// (which branches touch the same files), and how much; `nil` when git cannot tell, and for a detached worktree
    /// (its work is thrown away).
    func changes(_ worktree: Worktree) async -> (files: [String], stat: DiffStat)? {
        guard worktree.branch != nil else { return nil }
        // With its dependencies' work merged in, the branch's own changes are those of its own commits: the first
        // parents, merges left out.
        let command =
            worktree.hasDependencies
            ? ["-C", worktree.path, "log", "--first-parent", "--no-merges", "--numstat", "--format=", "\(worktree.base)..HEAD"]
            : ["-C", worktree.path, "diff", "--numstat", "\(worktree.base)...HEAD"]
        guard let output = try? await git(command) else { return nil }
        let (stat, files) = DiffStat.numstat(output)
        return (files, stat)
    }

    /// Removes a lease's worktree (its commits live on in the repository).
    func remove(_ worktree: Worktree, repository: String) async {
        await remove(worktreeAt: worktree.path, repository: repository)
    }

    /// Removes the worktree at `path`, if there is one.
    func remove(worktreeAt path: String, repository: String) async {
        let clone = clone(of: repository)
        await CloneLocks.shared.withLock(clone) {
            _ = try? await git(["-C", clone, "worktree", "remove", "--force", path])
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// git, run in the work directory.
    var git: Git { Git(directory: root) }

    /// A name safe for a directory: letters, digits, `-` and `_`.
    static func safe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.suffix(120))
    }
}
