import DroverProtocol
import DroverTesting
import Foundation
import Synchronization
import Testing

@testable import Worker

/// A merge task: a TODO's branch merged into its plan's integration branch, checked, pushed and tagged, one merge
/// at a time, never twice. Real git, a bare repository, no coordinator.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct IntegrationMergeTests {
    static let integration = "drover/p/integration"

    /// The bare repository of ``LeaseRunWorkspaceTests/remote(in:)``, with TODO branches off `main`: `drover/p/a`
    /// adds a.txt, `drover/p/b` adds b.txt, `drover/p/x` and `drover/p/y` change README's one line differently.
    static func remote(in directory: String) async throws -> String {
        let remote = try await LeaseRunWorkspaceTests.remote(in: directory)
        try await sh(
            """
            cd seed && git checkout --quiet main && branch() { git checkout --quiet -b drover/p/$1 main && echo $2 > $3 \
            && git add $3 && git commit --quiet -m $1 && git push --quiet origin drover/p/$1; } \
            && branch a a a.txt && branch b b b.txt && branch x x README && branch y y README
            """,
            in: directory
        )
        return remote
    }

    @discardableResult
    static func sh(_ script: String, in directory: String) async throws -> String {
        try await LeaseRunWorkspaceTests.sh(script, in: directory)
    }

    /// The commit `ref` names in the bare repository; nil when none.
    static func commit(_ ref: String, in directory: String) async -> String? {
        (try? await sh("git --git-dir remote.git rev-parse --verify --quiet '\(ref)^{commit}'", in: directory))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func refs(in directory: String) async throws -> String {
        try await sh("git --git-dir remote.git for-each-ref --format='%(refname) %(objectname)'", in: directory)
    }

    static func task(_ todo: String, expect: String?, checks: [Check] = [], repository: String) -> TaskSpec {
        TaskSpec(
            title: "merge \(todo)",
            command: nil,
            prompt: nil,
            timeoutSeconds: 600,
            checks: checks,
            repository: repository,
            merge: MergeSpec(
                todo: todo,
                title: "Write \(todo)",
                branch: "drover/p/\(todo)",
                integration: integration,
                expect: expect,
                base: "main",
                baseTag: "drover/p/base",
                tag: "drover/p/after-\(todo)"
            )
        )
    }

    /// Runs the merge of `todo` as a lease's task; returns the result and the texts of its events. Every merge
    /// leaves no worktree behind.
    static func merge(
        _ todo: String,
        expect: String?,
        checks: [Check] = [],
        abort: LeaseRun.Abort = LeaseRun.Abort(),
        in directory: String
    ) async -> (AgentResult, [String]) {
        let events = Mutex<[String]>([])
        let run = LeaseRun(agent: CommandAgent(), workdir: "\(directory)/work", worker: "w1")
        let result = await run.run(
            task(todo, expect: expect, checks: checks, repository: "\(directory)/remote.git"),
            lease: LeaseRef(leaseId: "p/merge-\(todo)@1", plan: "p", todo: "merge-\(todo)", epoch: 1),
            abort: abort,
            context: .standalone { new in events.withLock { $0 += new.compactMap(\.text) } }
        )
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/work/worktrees")) ?? []
        #expect(left.isEmpty, "the merge's worktree is removed: \(left)")
        return (result, events.withLock { $0 })
    }

    @Test func theFirstMergeMakesTheIntegrationBranchFromTheBaseChecksPushesAndTags() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (result, events) = await Self.merge(
            "a",
            expect: nil,
            checks: [Check(command: "test -f a.txt && test -f README")],
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)")
        let head = try #require(await Self.commit(Self.integration, in: directory.path))
        #expect(result.merge == MergeResult(outcome: .merged, head: head))
        #expect(result.checks.map(\.passed) == [true])
        #expect(
            result.summary.hasPrefix(
                "merged drover/p/a into drover/p/integration at \(head.prefix(7)) (tag drover/p/after-a); checks passed"
            ),
            "\(result.summary)"
        )
        let main = await Self.commit("main", in: directory.path)
        #expect(await Self.commit("drover/p/base", in: directory.path) == main, "the base is tagged")
        #expect(await Self.commit("drover/p/after-a", in: directory.path) == head)
        #expect(await Self.commit("\(Self.integration)^1", in: directory.path) == main, "merged on top of the base")
        #expect(await Self.commit("\(Self.integration)^2", in: directory.path) == (await Self.commit("drover/p/a", in: directory.path)))
        let subject = try await Self.sh("git --git-dir remote.git log -1 --format=%s \(Self.integration)", in: directory.path)
        #expect(subject == "drover: merge a (Write a)\n")
        #expect(events.contains("fetched \(directory.path)/remote.git: drover/p/integration does not exist yet"), "\(events)")
        #expect(events.contains("passed: command `test -f a.txt && test -f README`: exit 0"), "\(events)")
    }

    @Test func theSecondMergeGoesOnTopOfTheFirst() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (first, _) = await Self.merge("a", expect: nil, in: directory.path)
        let firstHead = try #require(first.merge?.head)
        let (second, _) = await Self.merge(
            "b",
            expect: firstHead,
            checks: [Check(command: "test -f a.txt && test -f b.txt")],
            in: directory.path
        )
        #expect(second.outcome == .succeeded, "\(second.summary)")
        let head = try #require(await Self.commit(Self.integration, in: directory.path))
        #expect(second.merge == MergeResult(outcome: .merged, head: head))
        #expect(head != firstHead)
        let log = try await Self.sh("git --git-dir remote.git log --first-parent --format=%s \(Self.integration)", in: directory.path)
        #expect(log == "drover: merge b (Write b)\ndrover: merge a (Write a)\nseed\n")
        #expect(await Self.commit("drover/p/after-a", in: directory.path) == firstHead)
        #expect(await Self.commit("drover/p/after-b", in: directory.path) == head)
    }

    @Test func aRedoneMergeIsFoundMergedAndNotAppliedTwice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (first, _) = await Self.merge("a", expect: nil, in: directory.path)
        let firstHead = try #require(first.merge?.head)
        let (second, _) = await Self.merge("b", expect: firstHead, in: directory.path)
        let head = try #require(second.merge?.head)
        let before = try await Self.refs(in: directory.path)
        // The reports of both were lost: each is redone with what it expected then.
        let (redoneB, events) = await Self.merge("b", expect: firstHead, in: directory.path)
        #expect(redoneB.outcome == .succeeded, "\(redoneB.summary)")
        #expect(redoneB.merge == MergeResult(outcome: .merged, head: head))
        #expect(redoneB.summary.contains("already merged"), "\(redoneB.summary)")
        #expect(events.contains { $0.hasPrefix("drover/p/b is already merged into drover/p/integration") }, "\(events)")
        let (redoneA, _) = await Self.merge("a", expect: nil, in: directory.path)
        #expect(redoneA.merge == MergeResult(outcome: .merged, head: head))
        #expect(try await Self.refs(in: directory.path) == before, "no commit added, no tag moved")
    }

    @Test func aConflictNamesTheFilesAndHunksAndPushesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (first, _) = await Self.merge("x", expect: nil, in: directory.path)
        let head = try #require(first.merge?.head)
        let before = try await Self.refs(in: directory.path)
        let (result, _) = await Self.merge("y", expect: head, in: directory.path)
        #expect(result.outcome == .failed)
        let merge = try #require(result.merge)
        #expect(merge.outcome == .conflict)
        #expect(merge.conflicts == ["README"])
        #expect(merge.head == head)
        let detail = merge.detail ?? ""
        #expect(detail.contains("<<<<<<<") && detail.contains("=======") && detail.contains(">>>>>>>"), "\(detail)")
        #expect(detail.contains("+x") || detail.contains(" x"), "the hunk shows both sides: \(detail)")
        #expect(result.summary.contains("conflicts in README"), "\(result.summary)")
        #expect(try await Self.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func failingChecksAfterACleanMergeReportTheOutputAndPushNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let before = try await Self.refs(in: directory.path)
        let (result, events) = await Self.merge(
            "a",
            expect: nil,
            checks: [Check(command: "test -f a.txt"), Check(command: "echo the build broke >&2; exit 3")],
            in: directory.path
        )
        #expect(result.outcome == .failed)
        let merge = try #require(result.merge)
        #expect(merge.outcome == .checksFailed)
        #expect(merge.detail?.contains("the build broke") == true, "\(merge.detail ?? "")")
        #expect(result.checks.map(\.passed) == [true, false])
        #expect(events.contains { $0.hasPrefix("failed: command `echo the build broke") }, "\(events)")
        #expect(try await Self.refs(in: directory.path) == before, "nothing pushed: no branch, no tag")
    }

    @Test func anIntegrationBranchThatMovedIsReportedAndLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let main = try #require(await Self.commit("main", in: directory.path))
        let (missing, _) = await Self.merge("a", expect: main, in: directory.path)
        #expect(missing.outcome == .failed)
        #expect(missing.merge?.outcome == .moved)
        #expect(missing.merge?.head == nil)
        #expect(
            missing.merge?.detail == "drover/p/integration does not exist, but was expected at \(main.prefix(7))",
            "\(missing.merge?.detail ?? "")"
        )
        let (first, _) = await Self.merge("a", expect: nil, in: directory.path)
        let head = try #require(first.merge?.head)
        let before = try await Self.refs(in: directory.path)
        let (moved, _) = await Self.merge("b", expect: main, in: directory.path)
        #expect(moved.outcome == .failed)
        #expect(moved.merge?.outcome == .moved)
        #expect(moved.merge?.head == head)
        #expect(try await Self.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func aTodoBranchThatDoesNotExistIsMergedWithTheHeadUnchanged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (first, _) = await Self.merge("a", expect: nil, in: directory.path)
        let head = try #require(first.merge?.head)
        let (result, _) = await Self.merge("empty", expect: head, checks: [Check(command: "false")], in: directory.path)
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(result.merge == MergeResult(outcome: .merged, head: head))
        #expect(result.summary.contains("drover/p/empty does not exist"), "\(result.summary)")
        #expect(result.checks.isEmpty, "nothing merged, nothing to check")
        #expect(await Self.commit(Self.integration, in: directory.path) == head)
        #expect(await Self.commit("drover/p/after-empty", in: directory.path) == head)
    }

    @Test func anAbortedMergePushesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let before = try await Self.refs(in: directory.path)
        let abort = LeaseRun.Abort()
        abort.set()
        let (result, _) = await Self.merge("a", expect: nil, abort: abort, in: directory.path)
        #expect(result.outcome == .cancelled)
        #expect(result.merge == nil)
        #expect(try await Self.refs(in: directory.path) == before)
    }

    @Test func aBaseTagElsewhereIsLeftAndSaidSo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        try await Self.sh("git --git-dir remote.git tag drover/p/base dev", in: directory.path)
        let dev = await Self.commit("dev", in: directory.path)
        let (result, _) = await Self.merge("a", expect: nil, in: directory.path)
        #expect(result.merge?.outcome == .merged, "\(result.summary)")
        #expect(result.summary.contains("the tag drover/p/base already exists at"), "\(result.summary)")
        #expect(await Self.commit("drover/p/base", in: directory.path) == dev, "left where it was")
    }
}

extension IntegrationMergeTests {
    @Test func aMergeRedoneAfterARollbackMovesItsTag() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let (first, _) = await Self.merge("a", expect: nil, in: directory.path)
        let firstHead = try #require(first.merge?.head)
        // The coordinator rolls the integration branch back to its base, and merges b, then a again.
        try await Self.sh("git --git-dir remote.git update-ref refs/heads/\(Self.integration) drover/p/base", in: directory.path)
        let base = try #require(await Self.commit("drover/p/base", in: directory.path))
        let (b, _) = await Self.merge("b", expect: base, in: directory.path)
        let (again, _) = await Self.merge("a", expect: try #require(b.merge?.head), in: directory.path)
        #expect(again.outcome == .succeeded, "\(again.summary)")
        let head = try #require(again.merge?.head)
        #expect(head != firstHead, "merged anew")
        #expect(await Self.commit(Self.integration, in: directory.path) == head)
        #expect(await Self.commit("drover/p/after-a", in: directory.path) == head, "the tag moved with it")
    }

    @Test func aBranchMovedWhileTheChecksRanIsNotOverwritten() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let dev = try #require(await Self.commit("dev", in: directory.path))
        // Someone makes the integration branch while the checks of the first merge run.
        let meddle = "git --git-dir '\(directory.path)/remote.git' branch \(Self.integration) dev"
        let (result, _) = await Self.merge("a", expect: nil, checks: [Check(command: meddle)], in: directory.path)
        #expect(result.outcome == .failed)
        #expect(result.merge?.outcome == .moved, "\(result.summary)")
        #expect(result.merge?.head == dev)
        #expect(await Self.commit(Self.integration, in: directory.path) == dev, "not overwritten")
        #expect(await Self.commit("drover/p/after-a", in: directory.path) == nil, "the atomic push left the tag out too")
    }
}

extension IntegrationMergeTests {
    @Test func aMergeCancelledWhileItsChecksRunPushesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.remote(in: directory.path)
        let before = try await Self.refs(in: directory.path)
        let started = "\(directory.path)/started"
        let path = directory.path
        let merge = Task { await Self.merge("a", expect: nil, checks: [Check(command: "touch '\(started)'; sleep 60")], in: path) }
        #expect(await eventually { FileManager.default.fileExists(atPath: started) }, "the check started")
        merge.cancel()
        let (result, _) = await merge.value
        #expect(result.outcome == .cancelled, "\(result.summary)")
        #expect(result.merge == nil)
        #expect(try await Self.refs(in: directory.path) == before, "nothing pushed")
    }
}
