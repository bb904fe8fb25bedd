import DroverProtocol
import DroverTesting
import Foundation
import ScriptedModel
import Synchronization
import Testing

@testable import Worker

/// A conflicting merge with a repair prompt, resolved by the real codex binary against the scripted model, in both
/// modes: the prompt (with the conflict's hunk) reaches the model, its shell command rewrites the conflicted file in
/// the worktree's sandbox, and the merge is committed, checked and pushed.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct MergeRepairCodexTests {
    typealias Merges = IntegrationMergeTests

    /// The conflict's hunk as the coordinator's repair prompt carries it.
    static let hunk = "<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> y"

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func codexResolvesAConflictAndTheMergeIsPushed(mode: CodexConfiguration.Mode) async throws {
        let server = try ScriptedModelServer(
            script: ModelScript([.shell("printf 'x and y\\n' > README"), .message("README keeps both lines now.")])
        )
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let xHead = try await MergeRepairTests.mergedX(in: directory.path)
        let agent = CodexAgent(
            configuration: CodexConfiguration(
                executable: try #require(CodexConfiguration.findExecutable()),
                mode: mode,
                baseURL: server.baseURL,
                homeRoot: "\(directory.path)/codex-home"
            )
        )
        let prompt = "Merging drover/p/y into drover/p/integration conflicts in README:\n\n\(Self.hunk)\n\nKeep both sides."
        let (result, events) = await MergeRepairTests.merge(
            "y",
            expect: xHead,
            checks: [Check(command: "grep -qx 'x and y' README")],
            prompt: prompt,
            command: nil,
            agent: PromptOrCommandAgent(prompts: agent),
            in: directory.path
        )
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        let head = try #require(await Merges.commit(Merges.integration, in: directory.path))
        #expect(result.merge == MergeResult(outcome: .merged, head: head))
        #expect(await Merges.commit("drover/p/after-y", in: directory.path) == head)
        let y = try #require(await Merges.commit("drover/p/y", in: directory.path))
        #expect(try await MergeRepairTests.parents(head, in: directory.path) == [xHead, y])
        let readme = try await Merges.sh("git --git-dir remote.git show \(head):README", in: directory.path)
        #expect(readme == "x and y\n")
        #expect(result.summary.contains("merge conflicts in README, resolved by the agent in 1 turn; checks passed"), "\(result.summary)")
        let request = try #require(server.responseRequests.first)
        // In the request's JSON, the hunk's lines are joined by `\n`.
        #expect(
            request.text.contains(Self.hunk.replacingOccurrences(of: "\n", with: "\\n")),
            "the hunk reached the model: \(request.text.prefix(3000))"
        )
        #expect(request.text.contains("Do not stage, commit, abort or redo the merge"), "the worker's note came first")
        #expect(events.contains { $0.kind == .turnStarted }, "the agent's events flow through the lease")
        #expect(events.contains { $0.kind == .command || $0.kind == .commandStarted }, "its command too")
    }
}
