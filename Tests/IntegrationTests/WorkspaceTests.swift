import DroverProtocol
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// TODOs in git worktrees on their own branches, checkpointed to a shared bare repository after every run, so the
/// next attempt, on whichever worker, goes on from there.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct WorkspaceTests {
    /// Runs a shell script to its end and returns its output; throws when it fails.
    @discardableResult
    func sh(_ script: String, in directory: String) async throws -> String {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        if status != 0 { throw TestFailure("`\(script)` failed (\(status)): \(output)") }
        return output
    }

    /// A bare repository `remote.git` in `directory`, with one commit (a README) on `main`.
    func remote(in directory: String) async throws {
        try await sh(
            """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed && cd seed \
            && git config user.email t@t && git config user.name t && echo hello > README \
            && git add README && git commit --quiet -m seed && git push --quiet origin main
            """,
            in: directory
        )
    }

    @Test func aRetriedTodoGoesOnFromItsCheckpointBranch() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            try cluster.startWorker("w2")
            // The first attempt leaves part1 behind and fails; the second finds part1 and finishes.
            let todo = Todo(
                id: "two-step",
                command: "test -f README && if [ -f part1 ]; then echo two > part2; else echo one > part1; exit 1; fi",
                maxAttempts: 2
            )
            try await cluster.submit(Plan(id: "git", title: "git", repository: "\(dir)/remote.git", todos: [todo]))
            try await cluster.waitForPlan("git-merge")
            let status = try await cluster.waitForPlan("git")
            #expect(status.todos.first?.epoch == 2)
            #expect(status.todos.first?.detail?.contains("pushed to drover/git/two-step") == true, "\(status.todos)")

            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/git/two-step", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "part1", "part2"])
            #expect(try await sh("git --git-dir remote.git show drover/git/two-step:part1", in: dir) == "one\n")
            let log = try await sh("git --git-dir remote.git log --format=%s drover/git/two-step", in: dir)
            #expect(log.contains("two-step failed (plan git, epoch 1)"))
            #expect(log.contains("two-step succeeded (plan git, epoch 2)"))
            #expect(
                try await sh("git --git-dir remote.git rev-parse main", in: dir)
                    == (try await sh("git --git-dir remote.git rev-parse drover/git/two-step~2", in: dir))
            )
            let workspaces = try cluster.events().filter { $0.type == .agent(.workspace) && $0.plan == "git" }.compactMap {
                $0.data["text"]?.stringValue
            }
            #expect(
                workspaces == [
                    "worktree on drover/git/two-step, from the default branch", "worktree on drover/git/two-step, from drover/git/two-step",
                ]
            )
            let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/worktrees")) ?? []
            #expect(left.isEmpty, "worktrees are removed after their run: \(left)")
        }
    }

    /// `a` and `b` in parallel, then `c`, which depends on both, finds their files: it starts with their work merged in.
    @Test func aTodoStartsWithTheWorkOfTheTodosItDependsOn() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            let todos = [
                Todo(id: "a", command: "echo a > a.txt"),
                Todo(id: "b", command: "echo b > b.txt"),
                Todo(id: "c", command: "cat a.txt b.txt > c.txt", dependsOn: ["a", "b"]),
            ]
            try await cluster.submit(Plan(id: "deps", title: "deps", repository: "\(dir)/remote.git", todos: todos))
            try await cluster.waitForPlan("deps-merge")
            let status = try await cluster.waitForPlan("deps")
            #expect(status.todos.allSatisfy { $0.state == .done }, "\(status.todos)")
            #expect(try await sh("git --git-dir remote.git show drover/deps/c:c.txt", in: dir) == "a\nb\n")
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/deps/c", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "a.txt", "b.txt", "c.txt"])
            let workspace = try cluster.events().last { $0.type == .agent(.workspace) && $0.plan == "deps" && $0.todo == "c" }
            let text = workspace?.data["text"]?.stringValue ?? ""
            // c started after a and b were done: from their merged branches, or from the integration branch if their
            // merges had gone in already.
            #expect(
                text.contains("with drover/deps/a, drover/deps/b merged in") || text.contains("from drover/deps/integration"),
                "\(text)"
            )

            // The integration branch holds all three, merged one at a time in dependency order, each tagged.
            let integration = try await sh("git --git-dir remote.git ls-tree --name-only drover/deps/integration", in: dir)
            #expect(integration.split(separator: "\n").sorted() == ["README", "a.txt", "b.txt", "c.txt"])
            let merges = try await sh("git --git-dir remote.git log --first-parent --reverse --format=%s drover/deps/integration", in: dir)
            let order = merges.split(separator: "\n").compactMap { line in ["a", "b", "c"].first { line.contains("merge \($0) ") } }
            #expect(order.count == 3 && order.last == "c", "\(merges)")
            let tags = try await sh("git --git-dir remote.git tag --list 'drover/deps/*'", in: dir)
            #expect(
                tags.split(separator: "\n").sorted() == [
                    "drover/deps/after-a", "drover/deps/after-b", "drover/deps/after-c", "drover/deps/base",
                ]
            )
            #expect(
                try await sh("git --git-dir remote.git rev-parse drover/deps/after-c", in: dir)
                    == (try await sh("git --git-dir remote.git rev-parse drover/deps/integration", in: dir))
            )
            let merged = try cluster.events().filter { $0.type == .mergeMerged }.compactMap(\.todo)
            #expect(Set(merged) == ["a", "b", "c"])
        }
    }

    /// Two TODOs write the same file differently: the second merge conflicts, its repair (by a worker with no codex)
    /// fails, the merge is escalated and the queue waits; `drover merge skip` leaves that work out, the rest merges.
    @Test func aMergeThatCannotBeRepairedWaitsAndCanBeLeftOut() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            let todos = [
                Todo(id: "first", command: "echo first > shared.txt"),
                Todo(id: "second", command: "echo second > shared.txt"),
                Todo(id: "notes", command: "echo notes > notes.txt", dependsOn: ["first", "second"]),
            ]
            try await cluster.submit(Plan(id: "clash", title: "clash", repository: "\(dir)/remote.git", todos: todos))
            let stuck = try await cluster.waitForStatus("a merge to be escalated") { status in
                status.todos.contains { $0.plan == "clash-merge" && $0.state == .escalated }
            }
            let escalated = try #require(stuck.todos.first { $0.plan == "clash-merge" && $0.state == .escalated })
            let refusals = try cluster.events().filter { $0.type == .mergeRefused && $0.todo == escalated.id }
            #expect(refusals.count == 2, "the merge, then its repair")
            #expect(refusals.first?.data["outcome"] == "conflict")
            #expect(refusals.first?.data["conflicts"] == .array(["shared.txt"]))
            #expect(stuck.todos.first { $0.plan == "clash-merge" && $0.id == "notes" }?.state == .skipped, "what depends on it waits")

            // The operators are asked, with the evidence.
            let inbox = try cluster.start("inbox", ["inbox", "--control", endpoints.control])
            #expect(try await inbox.wait() == 0, "\(inbox.output)")
            #expect(
                inbox.output.contains("clash-merge-\(escalated.id)  merge of clash/\(escalated.id) (the queue waits)"),
                "\(inbox.output)"
            )
            #expect(inbox.output.contains("conflict in shared.txt"), "\(inbox.output)")
            #expect(inbox.output.contains("`drover deny ITEM --reason WHY` (leave that TODO's work out)"))

            let skip = try cluster.start(
                "skip",
                ["merge", "skip", "clash/\(escalated.id)", "--reason", "keep the first", "--control", endpoints.control]
            )
            #expect(try await skip.wait() == 0, "\(skip.output)")
            let answered = try cluster.start("answered", ["inbox", "--json", "--control", endpoints.control])
            #expect(try await answered.wait() == 0)
            let left = try JSONDecoder().decode(InboxBody.self, from: Data(answered.output.utf8))
            #expect(left.items.isEmpty, "the merge was left out: nothing to ask any more")
            #expect(skip.output.contains("left out of drover/clash/integration"))
            let done = try await cluster.waitForStatus("the merges to end") { status in
                status.plans.first { $0.id == "clash-merge" }.map { $0.state != .running } ?? false
            }
            #expect(done.todos.first { $0.plan == "clash-merge" && $0.id == escalated.id }?.state == .skipped)
            let kept = escalated.id == "first" ? "second" : "first"
            #expect(try await sh("git --git-dir remote.git show drover/clash/integration:shared.txt", in: dir) == "\(kept)\n")
            #expect(try cluster.events().contains { $0.type == .mergeSkipped && $0.data["reason"] == "keep the first" })
            let wrong = try cluster.start("wrong", ["merge", "skip", "clash/\(kept)", "--control", endpoints.control])
            #expect(try await wrong.wait() != 0)
            #expect(wrong.output.contains("is not queued to merge"), "\(wrong.output)")
        }
    }

    /// Three TODOs at once, two writing the same line: one merges, the other conflicts and is repaired by codex (the
    /// scripted model, given the hunks, writes both lines), the integration checks pass, and the third merges.
    @Test(.enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
    func aConflictIsRepairedByCodexAndTheQueueGoesOn() async throws {
        let server = try ScriptedModelServer(scripts: [
            ModelScript(
                [.shell("printf 'first\\nsecond\\n' > shared.txt"), .message("Kept both lines.")],
                match: "Drover merge repair"
            )
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            let codex = ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(dir)/codex-home"]
            try cluster.startWorker("w1", slots: 3, extra: codex)
            let todos = [
                Todo(id: "first", command: "echo first > shared.txt"),
                Todo(id: "second", command: "echo second > shared.txt"),
                Todo(id: "third", command: "echo third > third.txt"),
            ]
            let plan = Plan(
                id: "fix",
                title: "fix",
                repository: "\(dir)/remote.git",
                integrationChecks: [Check(command: "test -f shared.txt")],
                todos: todos
            )
            try await cluster.submit(plan)
            try await cluster.waitForPlan("fix-merge")
            let status = try await cluster.waitForPlan("fix")
            #expect(status.todos.filter { $0.plan == "fix-merge" }.allSatisfy { $0.state == .done }, "\(status.todos)")
            let events = try cluster.events()
            let refused = try #require(events.first { $0.type == .mergeRefused })
            #expect(refused.data["outcome"] == "conflict")
            let repaired = try #require(refused.todo)
            #expect(events.contains { $0.type == .mergeMerged && $0.todo == repaired }, "repaired and merged")
            #expect(Set(events.filter { $0.type == .mergeMerged }.compactMap(\.todo)) == ["first", "second", "third"])
            let request = try #require(server.responseRequests.first { $0.text.contains("Drover merge repair: \(repaired)") })
            #expect(request.text.contains("<<<<<<<"), "the repair's prompt carries the conflict hunks")
            let kept = repaired == "first" ? "second" : "first"
            #expect(request.text.contains("What \(repaired) was asked to do"), "what this side was asked")
            #expect(request.text.contains(kept), "and the work already merged")
            // Codex ran the model's command in the worktree with the merge in progress, and came back with its result.
            let repairTurn = server.responseRequests.filter { $0.text.contains("Drover merge repair: \(repaired)") }
            #expect(repairTurn.count >= 2, "the command, then the model's last word")
            #expect(repairTurn.last?.text.contains("function_call_output") == true, "the second request carries the command's result")
            #expect(try await sh("git --git-dir remote.git show drover/fix/integration:shared.txt", in: dir) == "first\nsecond\n")
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/fix/integration", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "shared.txt", "third.txt"])
            let tags = try await sh("git --git-dir remote.git tag --list 'drover/fix/*'", in: dir)
            #expect(tags.split(separator: "\n").count == 4, "the base and one tag after each merge: \(tags)")
        }
    }

    /// The coordinator SIGKILLed mid-queue, then the worker doing a merge SIGKILLed mid-merge: the queue resumes, the
    /// merge is redone under a new lease, and each TODO is merged exactly once.
    @Test func theQueueSurvivesAKilledCoordinatorAndAKilledMergeWithEveryMergeOnce() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2)
            let todos = (0..<6).map { Todo(id: "t\($0)", command: "echo \($0) > f\($0).txt") }
            // Slow integration checks, held while the file `hold` exists: the merges after the restart
            // stay under way until their worker is killed, however slow the machine is.
            let hold = "\(dir)/hold"
            let plan = Plan(
                id: "faults",
                title: "faults",
                repository: "\(dir)/remote.git",
                integrationChecks: [Check(command: "sleep 0.5; while [ -e \(hold) ]; do sleep 0.05; done")],
                todos: todos
            )
            try await cluster.submit(plan)
            try await cluster.waitForStatus("two merges in") { status in
                (status.plans.first { $0.id == "faults-merge" }?.counts["done"] ?? 0) >= 2
            }
            #expect(FileManager.default.createFile(atPath: hold, contents: nil))
            await cluster.killCoordinator()
            try await cluster.startCoordinator()
            try cluster.startWorker("w2", slots: 2)
            try await cluster.waitForStatus("both workers registered with the new coordinator") { $0.workers.count == 2 }
            let running = try await cluster.waitForStatus("a merge under way") { status in
                status.todos.contains { $0.plan == "faults-merge" && $0.state == .running && $0.worker != nil }
            }
            let victim = try #require(running.todos.first { $0.plan == "faults-merge" && $0.state == .running }?.worker)
            await cluster.killWorker(victim)
            try FileManager.default.removeItem(atPath: hold)
            let done = try await cluster.waitForPlan("faults-merge", timeout: .seconds(120))
            #expect(done.todos.filter { $0.plan == "faults-merge" }.allSatisfy { $0.state == .done }, "\(done.todos)")
            let log = try await sh("git --git-dir remote.git log --first-parent --format=%s drover/faults/integration", in: dir)
            let merges = log.split(separator: "\n").filter { $0.hasPrefix("drover: merge") }
            #expect(merges.count == 6, "each TODO merged once: \(log)")
            #expect(Set(merges.map { String($0.split(separator: " ")[2]) }) == Set(todos.map(\.id)))
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/faults/integration", in: dir)
            #expect(files.split(separator: "\n").count == 7, "README and the six files")
            let events = try cluster.events()
            #expect(events.contains { $0.type == .todoRequeued && $0.plan == "faults-merge" }, "the killed merge was redone")
            #expect(events.filter { $0.type == .coordinatorStarted }.count == 2)
        }
    }

    /// `drover rollback` to a tag and to the base, a tag of another plan refused, a branch someone pushed to refused;
    /// what was rolled back is queued again with `drover merge retry`.
    @Test func rollbackMovesTheIntegrationBranchBackAndItsMergesCanBeRedone() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 1)
            let todos = [
                Todo(id: "a", command: "echo a > a.txt"),
                Todo(id: "b", command: "echo b > b.txt", dependsOn: ["a"]),
                Todo(id: "c", command: "echo c > c.txt", dependsOn: ["b"]),
            ]
            try await cluster.submit(Plan(id: "back", title: "back", repository: "\(dir)/remote.git", todos: todos))
            try await cluster.waitForPlan("back-merge")
            func drover(_ arguments: [String]) async throws -> (Int32, String) {
                let process = try cluster.start("drover", arguments + ["--control", endpoints.control])
                return (try await process.wait(), process.output)
            }
            func commit(_ ref: String) async throws -> String { try await sh("git --git-dir remote.git rev-parse \(ref)", in: dir) }

            let foreign = try await drover(["rollback", "back", "--to", "drover/other/base"])
            #expect(foreign.0 != 0)
            #expect(foreign.1.contains("drover/other/base is not a tag of plan back"), "\(foreign.1)")

            let back = try await drover(["rollback", "back", "--to", "drover/back/after-a", "--reason", "b broke staging"])
            #expect(back.0 == 0, "\(back.1)")
            #expect(back.1.contains("not integrated any more: b, c"))
            #expect(try await commit("drover/back/integration") == (try await commit("drover/back/after-a")))
            let status = try await cluster.status()
            #expect(status.todos.filter { $0.plan == "back-merge" }.map(\.state) == [.done, .skipped, .skipped])
            let event = try #require(try cluster.events().last { $0.type == .mergeRolledBack })
            #expect(event.data["reason"] == "b broke staging" && event.data["undone"] == .array(["b", "c"]))
            let audit = try String(contentsOfFile: "\(cluster.stateDir)/audit.jsonl", encoding: .utf8)
            #expect(audit.contains("merge.rolled_back"), "the audit log has it")

            // Queued again, b goes back in on top of a, and c (which was rolled back with it) after b.
            let retry = try await drover(["merge", "retry", "back/b"])
            #expect(retry.0 == 0, "\(retry.1)")
            try await cluster.waitForStatus("b and c merged again") { status in
                status.todos.filter { $0.plan == "back-merge" }.allSatisfy { $0.state == .done }
            }
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/back/integration", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "a.txt", "b.txt", "c.txt"])

            // Someone pushes to the branch: a rollback is refused and changes nothing.
            try await sh(
                "cd seed && git fetch --quiet origin && git checkout --quiet -B hot origin/drover/back/integration && echo hot > hot.txt "
                    + "&& git add hot.txt && git commit --quiet -m hot && git push --quiet origin hot:drover/back/integration",
                in: dir
            )
            let moved = try await commit("drover/back/integration")
            let refused = try await drover(["rollback", "back"])
            #expect(refused.0 != 0)
            #expect(refused.1.contains("moved since Drover's last merge"), "\(refused.1)")
            #expect(try await commit("drover/back/integration") == moved)
        }
    }

    /// The base moves after the merges: `drover merge rebase` merges it into the integration branch as one more step.
    @Test func aRebaseBringsTheIntegrationBranchUpToDateWithItsBase() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            let endpoints = try await cluster.startCoordinator()
            try cluster.startWorker("w1")
            let plan = Plan(
                id: "moving",
                title: "moving",
                repository: "\(dir)/remote.git",
                base: "main",
                todos: [Todo(id: "a", command: "echo a > a.txt")]
            )
            try await cluster.submit(plan)
            try await cluster.waitForPlan("moving-merge")
            try await sh(
                "cd seed && echo later > later.txt && git add later.txt && git commit --quiet -m later && git push --quiet origin main",
                in: dir
            )
            let rebase = try cluster.start("rebase", ["merge", "rebase", "moving", "--control", endpoints.control])
            #expect(try await rebase.wait() == 0, "\(rebase.output)")
            #expect(rebase.output.contains("as step rebase-1"))
            try await cluster.waitForStatus("the rebase merged") { status in
                status.todos.first { $0.plan == "moving-merge" && $0.id == "rebase-1" }?.state == .done
            }
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/moving/integration", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "a.txt", "later.txt"])
            #expect(
                try await sh("git --git-dir remote.git rev-parse drover/moving/after-rebase-1", in: dir)
                    == (try await sh("git --git-dir remote.git rev-parse drover/moving/integration", in: dir))
            )
        }
    }

    @Test(.enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
    func aWorkerKilledMidTurnLeavesACheckpointAnotherWorkerFinishesFrom() async throws {
        let server = try ScriptedModelServer(scripts: [
            // Epoch 2, on another worker: it goes on on the thread, stored at the checkpoint after the first turn, so
            // at the script's third step, and finishes the job.
            ModelScript(
                [
                    .message("not a step of a resumed thread"), .message("not a step of a resumed thread"),
                    .shell("test -f part1.txt && echo two > part2.txt"), .message("Both parts are done."),
                ],
                match: "goes on now, on this same thread"
            ),
            // Epoch 1: part 1, a turn that ends early (checkpointed), then a turn that never answers.
            ModelScript([.shell("echo one > part1.txt"), .message("Part 1 is done; part 2 next."), .silence]),
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            let codex = ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(dir)/codex-home"]
            try cluster.startWorker("first", extra: codex)
            let todo = Todo(id: "parts", prompt: "Write part1.txt and part2.txt.", checks: [Check(file: "part2.txt")])
            try await cluster.submit(Plan(id: "kill", title: "kill", repository: "\(dir)/remote.git", todos: [todo]))
            // The third request is the turn that hangs: part 1 is checkpointed by then.
            try await cluster.waitForStatus("the second turn to be under way") { _ in server.responseRequests.count >= 3 }
            try cluster.startWorker("second", extra: codex)
            await cluster.killWorker("first")

            let status = try await cluster.waitForPlan("kill")
            #expect(status.todos.first?.epoch == 2)
            #expect(try cluster.events().last { $0.type == .todoDone }?.worker == "second")
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/kill/parts", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "part1.txt", "part2.txt"])
            let log = try await sh("git --git-dir remote.git log --format=%s drover/kill/parts", in: dir)
            #expect(log.contains("(plan kill, epoch 1)"), "epoch 1's work was saved: \(log)")
            let resumed = try #require(server.responseRequests.first { $0.text.contains("goes on now, on this same thread") })
            #expect(CodexThreadResumeTests.assistantMessages(resumed) == ["Part 1 is done; part 2 next."], "the lost worker's thread")
        }
    }

    /// The worker dies in the middle of a turn, after the agent wrote a file and before the turn ended: the file was
    /// saved by a checkpoint taken during the turn, so the new owner starts with it, told what the session before did.
    @Test(.enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
    func aWorkerKilledInTheMiddleOfATurnLosesNothingItChanged() async throws {
        let server = try ScriptedModelServer(scripts: [
            ModelScript(
                [.shell("test -f part1.txt && echo two > part2.txt"), .message("Both parts are done.")],
                match: "Earlier work on this task"
            ),
            // Epoch 1: part 1, then the same turn waits for the model forever.
            ModelScript([.shell("echo one > part1.txt"), .silence]),
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await remote(in: dir)
            try await cluster.startCoordinator()
            let codex = [
                "--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(dir)/codex-home", "--checkpoint-interval", "0.2",
            ]
            try cluster.startWorker("first", extra: codex)
            let todo = Todo(id: "parts", prompt: "Write part1.txt and part2.txt.", checks: [Check(file: "part2.txt")])
            try await cluster.submit(Plan(id: "midturn", title: "midturn", repository: "\(dir)/remote.git", todos: [todo]))
            try await cluster.waitForStatus("part 1 saved during the turn") { _ in
                let events = (try? cluster.events()) ?? []
                return events.contains { $0.type == .agent(.checkpoint) && $0.data["files"] == .array(["part1.txt"]) }
            }
            #expect(try !cluster.events().contains { $0.type == .agent(.turnCompleted) }, "the turn is still under way")
            try cluster.startWorker("second", extra: codex)
            await cluster.killWorker("first")

            let status = try await cluster.waitForPlan("midturn")
            #expect(status.todos.first?.state == .done)
            #expect(status.todos.first?.epoch == 2)
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/midturn/parts", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "part1.txt", "part2.txt"])
            let log = try await sh("git --git-dir remote.git log --format=%s drover/midturn/parts", in: dir)
            #expect(log.contains("parts checkpoint during a turn (plan midturn, epoch 1)"), "\(log)")
            let request = try #require(server.responseRequests.first { $0.text.contains("Earlier work on this task") })
            #expect(request.text.contains("What the session before"), "the new session is told what the one before did")
            #expect(request.text.contains("echo one > part1.txt"))
        }
    }
}
