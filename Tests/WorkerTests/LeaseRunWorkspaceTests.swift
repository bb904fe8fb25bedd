import DroverProtocol
import DroverTesting
import Foundation
import Synchronization
import Testing

@testable import Worker

/// A lease's git worktree by its task's base and branch: a new branch starts from the base, and a task with no branch
/// works detached and leaves nothing behind. Real git, a command agent, no coordinator.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LeaseRunWorkspaceTests {
    /// Runs a shell script to its end and returns its output; throws when it fails.
    @discardableResult
    static func sh(_ script: String, in directory: String) async throws -> String {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        if status != 0 { throw DroverError(.git, "`\(script)` failed (\(status)): \(output)") }
        return output
    }

    /// A bare repository `remote.git` in `directory` with `main` (README) and `dev` (README and dev.txt).
    static func remote(in directory: String) async throws -> String {
        try await sh(
            """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed 2>/dev/null && cd seed \\
            && git config user.email t@t && git config user.name t && echo hello > README \\
            && git add README && git commit --quiet -m seed && git push --quiet origin main \\
            && git checkout --quiet -b dev && echo dev > dev.txt && git add dev.txt && git commit --quiet -m dev \\
            && git push --quiet origin dev
            """,
            in: directory
        )
        return "\(directory)/remote.git"
    }

    static func task(_ command: String, repository: String, branch: String?, base: String?) -> TaskSpec {
        TaskSpec(
            title: "t",
            command: command,
            prompt: nil,
            timeoutSeconds: 60,
            checks: [],
            repository: repository,
            branch: branch,
            base: base
        )
    }

    /// Runs `task` under lease `p/t@1` with a command agent; returns the result and the workspace events (a
    /// checkpoint's with the files it says the branch changed).
    static func run(_ task: TaskSpec, in directory: String) async -> (AgentResult, [String]) {
        let events = Mutex<[String]>([])
        let run = LeaseRun(agent: CommandAgent(), workdir: "\(directory)/work", worker: "w1")
        let result = await run.run(
            task,
            lease: LeaseRef(leaseId: "p/t@1", plan: "p", todo: "t", epoch: 1),
            abort: LeaseRun.Abort(),
            context: .standalone { new in
                let lines = new.filter { $0.kind == .workspace || $0.kind == .checkpoint }.compactMap { event in
                    event.text.map { text in text + (event.files.map { " [files: \($0.joined(separator: ", "))]" } ?? "") }
                }
                events.withLock { $0 += lines }
            }
        )
        return (result, events.withLock { $0 })
    }

    @Test func aNewBranchStartsFromItsBaseAndCountsItsFilesAgainstIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let remote = try await Self.remote(in: directory.path)
        let (result, events) = await Self.run(
            Self.task("test -f dev.txt && echo made > made.txt", repository: remote, branch: "drover/p/t", base: "dev"),
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(events.first == "worktree on drover/p/t, from dev")
        #expect(events.last?.hasSuffix("pushed to drover/p/t [files: made.txt]") == true, "the checkpoint says what changed: \(events)")
        #expect(result.files == ["made.txt"], "counted against dev, whose dev.txt is not the TODO's")
        #expect(result.diffStat == DiffStat(files: 1, insertions: 1, deletions: 0))
        let parent = try await Self.sh("git --git-dir remote.git rev-parse drover/p/t~1", in: directory.path)
        #expect(parent == (try await Self.sh("git --git-dir remote.git rev-parse dev", in: directory.path)))
    }

    @Test func aTaskWithNoBranchRunsDetachedAndLeavesNothingBehind() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let remote = try await Self.remote(in: directory.path)
        let before = try await Self.sh("git --git-dir remote.git for-each-ref", in: directory.path)
        let (result, events) = await Self.run(
            Self.task("test -f dev.txt && echo scratch > scratch.txt", repository: remote, branch: nil, base: "dev"),
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(result.files == nil)
        #expect(events == ["worktree detached at dev: nothing is kept, it is removed after the run"], "no checkpoint")
        #expect(try await Self.sh("git --git-dir remote.git for-each-ref", in: directory.path) == before, "nothing pushed")
        let clone = "\(directory.path)/work/.drover-git/w1/\(GitWorkspace.safe(remote)).git"
        let branches = try await Self.sh("git -C \(clone) for-each-ref --format='%(refname)' refs/heads", in: directory.path)
        #expect(branches == "refs/heads/main\n", "no branch made, only the clone's own: \(branches)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory.path)/work/worktrees")) ?? []
        #expect(left.isEmpty, "the worktree is removed: \(left)")
    }

    @Test func aBaseTheRemoteDoesNotHaveFailsNamingIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let remote = try await Self.remote(in: directory.path)
        let (result, _) = await Self.run(Self.task("true", repository: remote, branch: "drover/p/t", base: "nope"), in: directory.path)
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("the base branch \"nope\" does not exist"), "\(result.summary)")
    }

    /// Two dependency branches off `main`: `drover/p/a` adds a.txt, `drover/p/b` adds b.txt; with `conflict`, both
    /// also write shared.txt differently.
    static func dependencies(in directory: String, conflict: Bool) async throws {
        let shared = conflict ? "&& echo $1 > shared.txt && git add shared.txt" : ""
        try await sh(
            """
            cd seed && git checkout --quiet main && branch() { git checkout --quiet -b drover/p/$1 main && echo $1 > $1.txt \
            && git add $1.txt \(shared) && git commit --quiet -m $1 && git push --quiet origin drover/p/$1; } && branch a && branch b
            """,
            in: directory
        )
    }

    static let dependencyWork = [
        DependencyWork(todo: "a", title: "Write a", branch: "drover/p/a", summary: "wrote a.txt"),
        DependencyWork(todo: "b", title: "Write b", branch: "drover/p/b"),
        DependencyWork(todo: "empty", title: "Changed nothing", branch: "drover/p/empty"),
    ]

    @Test func aNewBranchStartsWithItsDependenciesWorkAndCountsOnlyItsOwnFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let remote = try await Self.remote(in: directory.path)
        try await Self.dependencies(in: directory.path, conflict: false)
        var task = Self.task("cat a.txt b.txt > c.txt", repository: remote, branch: "drover/p/t", base: "main")
        task.dependencies = Self.dependencyWork
        let (result, events) = await Self.run(task, in: directory.path)
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(events.first == "worktree on drover/p/t, from main, with drover/p/a, drover/p/b merged in")
        #expect(result.files == ["c.txt"], "the dependencies' files are theirs")
        #expect(try await Self.sh("git --git-dir remote.git show drover/p/t:c.txt", in: directory.path) == "a\nb\n")
    }

    @Test func dependenciesWhoseWorkConflictsAreNamedWithTheFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let remote = try await Self.remote(in: directory.path)
        try await Self.dependencies(in: directory.path, conflict: true)
        var task = Self.task("true", repository: remote, branch: "drover/p/t", base: "main")
        task.dependencies = Self.dependencyWork
        let (result, _) = await Self.run(task, in: directory.path)
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("merging drover/p/b after drover/p/a conflicts in shared.txt"), "\(result.summary)")
    }

    @Test func theSessionIsToldWhatItsDependenciesDid() {
        let note = LeaseRun.dependencyNote(Array(Self.dependencyWork.prefix(2)))
        #expect(note.contains("- a (Write a), branch drover/p/a: wrote a.txt"))
        #expect(note.contains("- b (Write b), branch drover/p/b"))
    }
}
