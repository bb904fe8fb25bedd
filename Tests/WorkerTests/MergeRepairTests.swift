import DroverProtocol
import DroverTesting
import Foundation
import Synchronization
import Testing

@testable import Worker

/// A merge task with a prompt: a conflict, or failing checks after a clean merge, are given to the lease's agent in
/// the worktree, the merge in progress; its work is staged, found free of markers, committed as the one merge
/// commit, checked again and pushed, or nothing is pushed. Real git, a bare repository, a command agent.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct MergeRepairTests {
    typealias Merges = IntegrationMergeTests

    /// An agent that says it is done (or gives up) without touching anything.
    struct Claims: AgentSession {
        var outcome: Outcome
        func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult {
            AgentResult(outcome: outcome, summary: "said \(outcome.rawValue)")
        }
    }

    /// Runs the merge of `todo` as a lease's task with `prompt`, its agent `agent` running `command`; returns the
    /// result and the events. Every merge leaves no worktree behind.
    static func merge(
        _ todo: String,
        expect: String?,
        checks: [Check] = [],
        prompt: String? = "Resolve the merge.",
        command: String?,
        agent: any AgentSession = CommandAgent(),
        in directory: String
    ) async -> (AgentResult, [AgentEvent]) {
        let events = Mutex<[AgentEvent]>([])
        var task = Merges.task(todo, expect: expect, checks: checks, repository: "\(directory)/remote.git")
        task.prompt = prompt
        task.command = command
        let run = LeaseRun(agent: agent, workdir: "\(directory)/work", worker: "w1")
        let result = await run.run(
            task,
            lease: LeaseRef(leaseId: "p/merge-\(todo)@2", plan: "p", todo: "merge-\(todo)", epoch: 2),
            abort: LeaseRun.Abort(),
            context: .standalone { new in events.withLock { $0 += new } }
        )
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/work/worktrees")) ?? []
        #expect(left.isEmpty, "the merge's worktree is removed: \(left)")
        return (result, events.withLock { $0 })
    }

    /// The remote of ``IntegrationMergeTests/remote(in:)`` with `drover/p/x` merged into the integration branch;
    /// returns its head. Merging `drover/p/y` next conflicts in README.
    static func mergedX(in directory: String) async throws -> String {
        _ = try await Merges.remote(in: directory)
        let (first, _) = await Merges.merge("x", expect: nil, in: directory)
        return try #require(first.merge?.head)
    }

    /// The parents of `ref` in the bare repository.
    static func parents(_ ref: String, in directory: String) async throws -> [String] {
        let line = try await Merges.sh("git --git-dir remote.git log -1 --format=%P '\(ref)'", in: directory)
        return line.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    @Test func aConflictIsResolvedByTheAgentCommittedCheckedPushedAndTagged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let (result, events) = await Self.merge(
            "y",
            expect: xHead,
            checks: [Check(command: "grep -qx 'x and y' README")],
            command: "printf 'x and y\\n' > README",
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)")
        let head = try #require(await Merges.commit(Merges.integration, in: directory.path))
        #expect(result.merge == MergeResult(outcome: .merged, head: head))
        #expect(await Merges.commit("drover/p/after-y", in: directory.path) == head, "tagged")
        let y = try #require(await Merges.commit("drover/p/y", in: directory.path))
        #expect(try await Self.parents(head, in: directory.path) == [xHead, y], "one merge commit, both parents")
        let log = try await Merges.sh(
            "git --git-dir remote.git log --format=%s \(xHead)..\(Merges.integration) --first-parent",
            in: directory.path
        )
        #expect(log == "drover: merge y (Write y), resolved by the agent\n")
        let readme = try await Merges.sh("git --git-dir remote.git show \(Merges.integration):README", in: directory.path)
        #expect(readme == "x and y\n")
        #expect(result.summary.contains("merge conflicts in README, resolved by the agent; checks passed"), "\(result.summary)")
        #expect(result.checks.map(\.passed) == [true], "the integration checks, run again on the commit")
        #expect(events.contains { $0.kind == .workspace && $0.text == "merge conflicts in README: the agent resolves it" })
    }

    @Test func markersLeftByTheAgentPushNothingAndSaySo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let (result, _) = await Self.merge("y", expect: xHead, command: "echo looked at it", in: directory.path)
        #expect(result.outcome == .failed)
        let merge = try #require(result.merge)
        #expect(merge.outcome == .conflict)
        #expect(merge.conflicts == ["README"])
        #expect(merge.head == xHead)
        #expect(merge.detail?.contains("<<<<<<<") == true, "the conflict's hunks: \(merge.detail ?? "")")
        #expect(result.summary.contains("conflict markers remain in README"), "\(result.summary)")
        #expect(result.checks.first?.passed == false, "the agent's marker check failed: \(result.checks)")
        #expect(result.checks.first?.detail.contains("README:1:<<<<<<<") == true, "\(result.checks)")
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func anAgentThatSaysDoneWithMarkersLeftPushesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let (result, _) = await Self.merge("y", expect: xHead, command: nil, agent: Claims(outcome: .succeeded), in: directory.path)
        #expect(result.outcome == .failed)
        #expect(result.merge?.outcome == .conflict)
        #expect(result.summary.contains("the agent said it was done, but conflict markers remain in README"), "\(result.summary)")
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func anAgentThatCommitsTheMergeItselfIsNotTrustedWithIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let (result, _) = await Self.merge(
            "y",
            expect: xHead,
            command: "printf 'x and y\\n' > README && git add README && git commit --quiet -m mine",
            in: directory.path
        )
        #expect(result.outcome == .failed)
        #expect(result.merge?.outcome == .conflict)
        #expect(result.summary.contains("the merge is no longer in progress"), "\(result.summary)")
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func anAgentThatEscalatesIsReportedEscalatedWithTheConflict() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let (result, _) = await Self.merge("y", expect: xHead, command: nil, agent: Claims(outcome: .escalated), in: directory.path)
        #expect(result.outcome == .escalated)
        #expect(result.merge?.outcome == .conflict)
        #expect(result.merge?.conflicts == ["README"])
        #expect(result.summary.contains("the agent did not resolve it (escalated: said escalated)"), "\(result.summary)")
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func failingChecksAfterACleanMergeAreFixedByTheAgentInTheOneMergeCommit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Merges.remote(in: directory.path)
        let check = Check(command: "test -f fixed.txt")
        let (result, events) = await Self.merge("a", expect: nil, checks: [check], command: "echo fixed > fixed.txt", in: directory.path)
        #expect(result.outcome == .succeeded, "\(result.summary)")
        let head = try #require(await Merges.commit(Merges.integration, in: directory.path))
        #expect(result.merge == MergeResult(outcome: .merged, head: head))
        #expect(await Merges.commit("drover/p/after-a", in: directory.path) == head)
        let main = try #require(await Merges.commit("main", in: directory.path))
        let a = try #require(await Merges.commit("drover/p/a", in: directory.path))
        #expect(try await Self.parents(head, in: directory.path) == [main, a], "the fix is in the merge commit")
        let files = try await Merges.sh("git --git-dir remote.git ls-tree --name-only \(head)", in: directory.path)
        #expect(files == "README\na.txt\nfixed.txt\n")
        let subject = try await Merges.sh("git --git-dir remote.git log -1 --format=%s \(head)", in: directory.path)
        #expect(subject == "drover: merge a (Write a), resolved by the agent\n")
        #expect(
            result.summary.contains("the integration checks failed (command `test -f fixed.txt`), resolved by the agent"),
            "\(result.summary)"
        )
        #expect(
            events.contains {
                $0.text == "the integration checks failed (command `test -f fixed.txt`) after a clean merge: the agent fixes it"
            }
        )
    }

    @Test func checksStillFailingAfterTheAgentPushNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Merges.remote(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let (result, _) = await Self.merge(
            "a",
            expect: nil,
            checks: [Check(command: "echo still broken >&2; exit 1")],
            command: "true",
            agent: Claims(outcome: .succeeded),
            in: directory.path
        )
        #expect(result.outcome == .failed)
        #expect(result.merge?.outcome == .checksFailed)
        #expect(result.merge?.detail?.contains("still broken") == true, "\(result.merge?.detail ?? "")")
        #expect(result.summary.contains("after the agent's work the integration checks fail"), "\(result.summary)")
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func aMergeWithAPromptThatNeedsNoAgentIsCommittedAsUsual() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Merges.remote(in: directory.path)
        let (result, _) = await Self.merge(
            "a",
            expect: nil,
            checks: [Check(command: "test -f a.txt")],
            command: "echo ran > agent-ran.txt",
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)")
        let head = try #require(await Merges.commit(Merges.integration, in: directory.path))
        let subject = try await Merges.sh("git --git-dir remote.git log -1 --format=%s \(head)", in: directory.path)
        #expect(subject == "drover: merge a (Write a)\n", "no agent ran")
        let files = try await Merges.sh("git --git-dir remote.git ls-tree --name-only \(head)", in: directory.path)
        #expect(files == "README\na.txt\n")
        #expect(try await Self.parents(head, in: directory.path).count == 2)
    }

    @Test func aRepairCancelledWhileTheAgentWorksPushesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await Self.mergedX(in: directory.path)
        let before = try await Merges.refs(in: directory.path)
        let started = "\(directory.path)/started"
        let path = directory.path
        let merge = Task {
            await Self.merge("y", expect: xHead, command: "printf 'x and y\\n' > README; touch '\(started)'; sleep 60", in: path)
        }
        #expect(await eventually { FileManager.default.fileExists(atPath: started) }, "the agent started")
        merge.cancel()
        let (result, _) = await merge.value
        #expect(result.outcome == .cancelled, "\(result.summary)")
        #expect(result.merge == nil)
        #expect(try await Merges.refs(in: directory.path) == before, "nothing pushed")
    }

    @Test func theAgentIsToldTheMergeIsInProgressBeforeThePrompt() throws {
        var task = Merges.task("y", expect: nil, repository: "/r")
        task.prompt = "Keep both lines."
        task.checks = [Check(command: "make test")]
        let repair: MergeRepair? = MergeRepair(task: task, agent: CommandAgent(), context: .standalone { _ in })
        let agentTask = try #require(repair).agentTask
        #expect(agentTask.prompt?.hasPrefix("This directory is a git worktree with a merge in progress (drover/p/y into") == true)
        #expect(agentTask.prompt?.hasSuffix("\n\nKeep both lines.") == true)
        #expect(agentTask.checks == [ConflictMarkers.check, Check(command: "make test")])
        #expect(agentTask.merge == nil && agentTask.repository == nil, "the worker does the git work")
        task.prompt = nil
        #expect(MergeRepair(task: task, agent: CommandAgent(), context: .standalone { _ in }) == nil, "no prompt, no repair")
    }

    @Test func theMarkerCheckFindsMarkersInTrackedAndNewFilesAndNothingElse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path
        try await Merges.sh(
            """
            git init --quiet -b main . && printf 'a\\n=======\\nb\\n<<<<<<<< eight\\n' > plain.txt && git add plain.txt \\
            && printf 'x\\n>>>>>>> theirs\\n' > tracked.txt && git add tracked.txt && printf '<<<<<<<\\n' > new.txt \\
            && printf 'ignored.txt\\n' > .gitignore && printf '<<<<<<< HEAD\\n' > ignored.txt
            """,
            in: path
        )
        let git = Git(directory: path)
        #expect(try await ConflictMarkers.files(in: path, git: git) == ["new.txt", "tracked.txt"])
        let runner = CheckRunner(environment: ProcessInfo.processInfo.environment, directory: path, grace: .seconds(1))
        let found = await runner.run([ConflictMarkers.check])
        #expect(found.map(\.passed) == [false])
        #expect(found.first?.detail.contains("tracked.txt:2:>>>>>>> theirs") == true, "\(found)")
        try await Merges.sh("rm new.txt tracked.txt", in: path)
        #expect(try await ConflictMarkers.files(in: path, git: git) == [])
        #expect(await runner.run([ConflictMarkers.check]).map(\.passed) == [true])
        let outside = try TemporaryDirectory()
        defer { outside.remove() }
        let nowhere = CheckRunner(environment: ProcessInfo.processInfo.environment, directory: outside.path, grace: .seconds(1))
        #expect(await nowhere.run([ConflictMarkers.check]).map(\.passed) == [false], "no repository: git cannot tell, the check fails")
    }

    @Test func aReadOnlySandboxBecomesWorkspaceWriteForTheRepair() {
        #expect(MergeRepair.writable(nil) == nil)
        #expect(
            MergeRepair.writable(Permissions(sandbox: "read-only", network: false))
                == Permissions(sandbox: "workspace-write", network: false)
        )
        #expect(MergeRepair.writable(Permissions(sandbox: "danger-full-access")) == Permissions(sandbox: "danger-full-access"))
    }
}
