import DroverProtocol
import DroverTransport
import Foundation
import Testing

/// `drover rollback --state-dir DIR` after `drover run` ended: the coordinator's rule on the state it left, with no
/// coordinator running; refused while one runs on the directory.
extension WorkspaceTests {
    @Test func rollbackWorksOnTheStateDirectoryOfAFinishedRun() async throws {
        try await Cluster.with { cluster in
            let dir = cluster.directory
            let state = cluster.stateDir
            try await remote(in: dir)
            try """
            id: back
            repository: \(dir)/remote.git
            todos:
              - {id: a, command: "echo a > a.txt"}
              - {id: b, command: "echo b > b.txt", depends_on: [a]}
              - {id: c, command: "echo c > c.txt", depends_on: [b]}
            """.write(toFile: "\(dir)/plan.yaml", atomically: true, encoding: .utf8)
            let run = try cluster.start("run", ["run", "plan.yaml", "--state-dir", state, "--workers", "1", "--workdir", dir])
            #expect(try await run.wait(timeout: .seconds(90)) == 0, "\(run.output)")
            #expect(run.output.contains("merged 3/3 into drover/back/integration"), "\(run.output)")
            func drover(_ arguments: [String]) async throws -> (Int32, String) {
                let process = try cluster.start("drover", arguments)
                return (try await process.wait(), process.output)
            }
            func commit(_ ref: String) async throws -> String {
                try await sh("git --git-dir remote.git rev-parse \(ref)", in: dir).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let merged = try await commit("drover/back/integration")
            #expect(merged == (try await commit("drover/back/after-c")))

            // Bad input: each refused with what is wrong, nothing changed.
            for (arguments, problem) in [
                (["rollback", "nope", "--state-dir", state], "plan nope is not in \(state): its plans are back, back-merge"),
                (["rollback", "back", "--to", "drover/other/base", "--state-dir", state], "drover/other/base is not a tag of plan back"),
                (["rollback", "back", "--state-dir", "\(dir)/missing"], "there is no state directory \(dir)/missing"),
                (["rollback", "back", "--state-dir", dir], "\(dir) holds no state (no state.sqlite)"),
            ] {
                let refused = try await drover(arguments)
                #expect(refused.0 != 0 && refused.1.contains(problem), "\(arguments): \(refused.1)")
            }
            #expect(try await commit("drover/back/integration") == merged)

            // Someone pushed to the branch: refused, nothing changed; then the push is undone.
            try await sh(
                "cd seed && git fetch --quiet origin && git checkout --quiet -B hot origin/drover/back/integration && echo hot > hot.txt "
                    + "&& git add hot.txt && git commit --quiet -m hot && git push --quiet origin hot:drover/back/integration",
                in: dir
            )
            let moved = try await drover(["rollback", "back", "--to", "drover/back/after-a", "--state-dir", state])
            #expect(moved.0 != 0 && moved.1.contains("moved since Drover's last merge"), "\(moved.1)")
            #expect(try await commit("drover/back/integration") != merged)
            try await sh("cd seed && git push --quiet --force origin \(merged):refs/heads/drover/back/integration", in: dir)

            // With no coordinator: the branch moves, the state records it.
            let back = try await drover([
                "rollback", "back", "--to", "drover/back/after-a", "--reason", "b broke staging", "--state-dir", state, "--json",
            ])
            #expect(back.0 == 0, "\(back.1)")
            let document = try #require(
                back.1.firstIndex(of: "{").flatMap { start in back.1.lastIndex(of: "}").map { back.1[start...$0] } }
            )
            let reply = try JSONDecoder().decode(RollbackReply.self, from: Data(document.utf8))
            #expect(reply.undone == ["b", "c"] && reply.tag == "drover/back/after-a" && reply.expect == merged)
            #expect(try await commit("drover/back/integration") == (try await commit("drover/back/after-a")))
            let events = try await drover(["events", "--state-dir", state])
            let line = events.1.split(separator: "\n").first { $0.contains("merge.rolled_back") }
            #expect(line?.contains("reason=\"b broke staging\"") == true, "\(events.1)")
            #expect(try cluster.events().filter { $0.type == .mergeRolledBack }.count == 1, "the refusals recorded nothing")
            let audit = try String(contentsOfFile: "\(state)/audit.jsonl", encoding: .utf8)
            #expect(audit.contains(#""decision":"merge.rolled_back","reason":"b broke staging""#))

            // A coordinator on the directory: the offline rollback and a second coordinator are refused.
            let endpoints = try await cluster.startCoordinator()
            let busy = try await drover(["rollback", "back", "--state-dir", state])
            #expect(busy.0 != 0, "\(busy.1)")
            #expect(busy.1.contains("a coordinator (pid "), "\(busy.1)")
            #expect(busy.1.contains("is running on \(state): run the rollback through it with --control \(endpoints.control)"), "\(busy.1)")
            let second = try await drover([
                "coordinator", "--state-dir", state, "--work", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--control",
                "tcp://127.0.0.1:*", "--http", "none",
            ])
            #expect(second.0 != 0 && second.1.contains("cannot start: \(state) is in use by a coordinator (pid "), "\(second.1)")

            let fresh = try await drover(["run", "plan.yaml", "--state-dir", state, "--fresh"])
            #expect(fresh.0 != 0 && fresh.1.contains("--fresh would remove its state"), "\(fresh.1)")
            #expect(FileManager.default.fileExists(atPath: "\(state)/state.sqlite"))
            // With no flags, the coordinator running on .drover is asked (back to where the branch is: nothing undone).
            try FileManager.default.createSymbolicLink(atPath: "\(dir)/.drover", withDestinationPath: state)
            let asked = try await drover(["rollback", "back", "--to", "drover/back/after-a"])
            #expect(asked.0 == 0 && asked.1.contains("drover/back/integration is back at drover/back/after-a"), "\(asked.1)")
            #expect(try cluster.events().filter { $0.type == .mergeRolledBack }.last?.data["undone"] == .array([]))

            // The coordinator finds b and c not integrated; queued again, they are merged again.
            let status = try await cluster.status()
            #expect(status.todos.filter { $0.plan == "back-merge" }.map(\.state) == [.done, .skipped, .skipped])
            try cluster.startWorker("w1")
            let retry = try await drover(["merge", "retry", "back/b", "--control", endpoints.control])
            #expect(retry.0 == 0, "\(retry.1)")
            try await cluster.waitForStatus("b and c merged again") { status in
                status.todos.filter { $0.plan == "back-merge" }.allSatisfy { $0.state == .done }
            }
            let files = try await sh("git --git-dir remote.git ls-tree --name-only drover/back/integration", in: dir)
            #expect(files.split(separator: "\n").sorted() == ["README", "a.txt", "b.txt", "c.txt"])
        }
    }
}
