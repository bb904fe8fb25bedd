import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// A finished plan's AI review with the real codex against the scripted model, real processes and real git: `drover
/// plan report PLAN --ai` asks the coordinator, a worker runs the read-only reviewer, and its recommendations come
/// back in the report, marked as the model's opinion.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
struct AIReviewTests {
    static let recommendations = Recommendations(
        summary: "notes.txt was added and merged; nothing checks what it holds.",
        tests: ["check that notes.txt is not empty"],
        deployment: ["nothing to deploy: notes.txt is documentation"],
        followUp: ["link notes.txt from README"]
    )

    static var answer: String { String(decoding: try! JSONEncoder().encode(recommendations), as: UTF8.self) }

    @discardableResult
    func sh(_ script: String, in directory: String) async throws -> String {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        if status != 0 { throw TestFailure("`\(script)` failed (\(status)): \(output)") }
        return output
    }

    /// Runs `drover ARGUMENTS --control … --events …` to its end; returns its status, its stdout, and its stdout and
    /// stderr together.
    func drover(_ cluster: Cluster, _ name: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, output: String) {
        let endpoints = try #require(cluster.endpoints)
        let file = "\(cluster.directory)/\(name).out"
        let command = ["/bin/sh", "-c", "\"$0\" \"$@\" > \(file); status=$?; cat \(file); exit $status", TestProcess.droverPath]
        let process = try cluster.startCommand(name, command + arguments + ["--control", endpoints.control, "--events", endpoints.events])
        let status = try await process.wait(timeout: .seconds(90))
        return (status, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "", process.output)
    }

    /// `drover run PLAN --ai`: the plan runs, then the reviewer, and the report printed at the end has its
    /// recommendations.
    @Test func runWithAIPrintsTheReportWithTheRecommendations() async throws {
        let server = try ScriptedModelServer(scripts: [
            ModelScript([.message(Self.answer)], match: "Drover AI review: recommendations")
        ])
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let dir = directory.path
        try await sh(
            """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed && cd seed \
            && git config user.email t@t && git config user.name t && echo hello > README \
            && git add README && git commit --quiet -m seed && git push --quiet origin main
            """,
            in: dir
        )
        try """
        id: notes
        title: Notes
        repository: \(dir)/remote.git
        todos:
          - id: write
            command: echo notes > notes.txt
        """.write(toFile: "\(dir)/plan.yaml", atomically: true, encoding: .utf8)
        let run = try TestProcess(
            name: "run",
            arguments: [
                "run", "plan.yaml", "--ai", "--ai-timeout", "60", "--workers", "1", "--agent", "codex", "--model-base-url",
                server.baseURL, "--codex-home", "\(dir)/codex-home",
            ],
            directory: dir
        )
        let status = try await run.wait(timeout: .seconds(120))  // killed by its PID if it is still there then
        #expect(status == 0, "\(run.output)")
        #expect(run.output.contains("AI review of plan notes:"), "progress on stderr: \(run.output)")
        #expect(run.output.contains(PlanReport.AIReview.heading), "\(run.output)")
        #expect(run.output.contains("- link notes.txt from README"))
    }

    @Test func aFinishedPlansReviewComesBackAsTheModelsOpinion() async throws {
        let server = try ScriptedModelServer(scripts: [
            ModelScript([.shell("cat notes.txt"), .message(Self.answer)], match: "Drover AI review: recommendations")
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let dir = cluster.directory
            try await sh(
                """
                git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed && cd seed \
                && git config user.email t@t && git config user.name t && echo hello > README \
                && git add README && git commit --quiet -m seed && git push --quiet origin main
                """,
                in: dir
            )
            try await cluster.startCoordinator()
            let codex = ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(dir)/codex-home"]
            try cluster.startWorker("w1", slots: 2, extra: codex)
            let plan = Plan(
                id: "notes",
                title: "Notes",
                repository: "\(dir)/remote.git",
                todos: [Todo(id: "write", command: "echo notes > notes.txt", checks: [Check(file: "notes.txt")])]
            )

            // Asked for before the plan has ended: refused, saying why.
            try await cluster.submit(plan)
            let unknown = try await drover(cluster, "unknown", ["plan", "report", "nope", "--ai"])
            #expect(unknown.status != 0 && unknown.output.contains("no plan nope"), "\(unknown.output)")
            // A plan no worker can take (it needs a label none has) stays running.
            try await cluster.submit(Plan(id: "waiting", title: "Waiting", todos: [Todo(id: "gpu", command: "true", labels: ["gpu"])]))
            let running = try await drover(cluster, "running", ["plan", "report", "waiting", "--ai"])
            #expect(running.status != 0, "\(running.output)")
            #expect(running.output.contains("plan waiting has no report to review yet"), "\(running.output)")
            try await cluster.waitForPlan("notes-merge")
            try await cluster.waitForStatus("the plan to be finalized") { _ in
                (try? cluster.events().contains { $0.type == .planFinalized && $0.plan == "notes" }) == true
            }

            let asked = try await drover(cluster, "report-ai", ["plan", "report", "notes", "--ai", "--json", "--timeout", "60"])
            #expect(asked.status == 0, "\(asked.output)")
            #expect(asked.output.contains("AI review of plan notes:"), "progress on stderr: \(asked.output)")
            let report = try WireCodec().decode(PlanReport.self, from: Data(asked.stdout.utf8))
            let review = try #require(report.aiReview)
            #expect(review.state == .done, "\(review)")
            #expect(review.recommendations == Self.recommendations)
            #expect(review.plan == "notes-next" && review.model != nil)
            #expect(report.integration?.merged == ["write"], "the report as it was made")

            // The reviewer ran read-only, given the report and the schema, in a worktree of the integration branch.
            let request = try #require(server.responseRequests.first { $0.text.contains("Drover AI review: recommendations") })
            #expect(request.text.contains("json_schema") && request.text.contains("follow_up"))
            #expect(request.text.contains("Plan `notes` done: 1 of 1 TODOs done."))
            let events = try cluster.events()
            #expect(events.contains { $0.type == .planReviewed && $0.plan == "notes" && $0.data["state"] == "done" })
            #expect(!events.contains { $0.type == .planFinalized && $0.plan == "notes-next" })
            let workspace = events.first { $0.type == .agent(.workspace) && $0.plan == "notes-next" }?.data["text"]?.stringValue
            #expect(workspace?.contains("drover/notes/integration") == true, "\(workspace ?? "no workspace event")")

            // Asked again: the review made is printed at once, as Markdown that says whose opinion it is.
            let again = try await drover(cluster, "report-again", ["plan", "report", "notes", "--ai"])
            #expect(again.status == 0, "\(again.output)")
            #expect(again.output.contains(PlanReport.AIReview.heading))
            #expect(again.output.contains("It is the model's opinion: Drover did not check any of it."))
            #expect(again.output.contains("- check that notes.txt is not empty"))
            #expect(server.responseRequests.count { $0.text.contains("Drover AI review: recommendations") } == 2, "one review, two turns")
        }
    }
}
