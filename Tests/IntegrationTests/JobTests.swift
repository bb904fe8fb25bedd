import DroverClients
import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

/// Jobs from a goal to their end, with the real codex against the scripted model, real processes and real git: the
/// steps' sessions answer in their schemas, the permissions are asked once, the plan runs, and coordinators and
/// workers killed on the way change nothing but the time it takes.
@Suite(.serialized, .timeLimit(.minutes(4)), .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
struct JobTests {
    static let goal = "Write the notes and their summary"

    static let classification =
        #"{"kind":"multi_file_change","complexity":"low","needs_investigation":true,"summary":"notes and a summary","answer":null}"#
    static let investigation = json(
        Investigation(
            summary: "A tiny repository with a README",
            layout: "everything at the top",
            conventions: "plain text files",
            constraints: "keep README",
            build: "nothing to build",
            test: "test -f README",
            files: ["README"],
            risks: []
        )
    )
    /// `notes`; `summary` after it, of high risk; `fetch` needs the network.
    static let plan = json(
        PlannedWork(
            title: "Notes",
            todos: [
                .init(id: "notes", title: "Notes", prompt: "Write notes.txt.", checks: ["test -f notes.txt"], files: ["notes.txt"]),
                .init(
                    id: "summary",
                    title: "Summary",
                    prompt: "Write summary.txt.",
                    dependsOn: ["notes"],
                    checks: ["test -f summary.txt"],
                    risk: .high
                ),
                .init(
                    id: "fetch",
                    title: "Fetch",
                    prompt: "Fetch the data.",
                    checks: ["test -f data.txt"],
                    permissions: Permissions(sandbox: "workspace-write", network: true, writable: [])
                ),
            ]
        )
    )
    static let cyclicPlan = json(
        PlannedWork(
            title: "Loop",
            todos: [
                .init(id: "a", title: "A", prompt: "a", dependsOn: ["b"], checks: ["true"]),
                .init(id: "b", title: "B", prompt: "b", dependsOn: ["a"], checks: ["true"]),
            ]
        )
    )

    static func json(_ value: some Encodable) -> String { String(decoding: try! JSONEncoder().encode(value), as: UTF8.self) }

    /// The model: each step's session and each TODO's, told apart by their prompts.
    static func scripts(plan: [ModelScript.Reply], investigate: [ModelScript.Reply]? = nil) -> [ModelScript] {
        [
            ModelScript([.message(classification)], match: "Drover job step: classify"),
            ModelScript(investigate ?? [.shell("ls"), .message(investigation)], match: "Drover job step: investigate"),
            ModelScript(plan, otherwise: .message(cyclicPlan), match: "Drover job step: plan"),
            ModelScript([.shell("echo notes > notes.txt"), .message("Done.")], match: "Write notes.txt."),
            ModelScript([.shell("echo summary > summary.txt"), .message("Done.")], match: "Write summary.txt."),
            ModelScript([.shell("echo data > data.txt"), .message("Done.")], match: "Fetch the data."),
        ]
    }

    func sh(_ script: String, in directory: String) async throws {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        if status != 0 { throw TestFailure("`\(script)` failed (\(status)): \(output)") }
    }

    func makeRepository(in directory: String) async throws -> String {
        try await sh(
            """
            git init --quiet --bare -b main remote.git && git clone --quiet remote.git seed && cd seed \
            && git config user.email t@t && git config user.name t && echo hello > README \
            && git add README && git commit --quiet -m seed && git push --quiet origin main
            """,
            in: directory
        )
        return "\(directory)/remote.git"
    }

    func codex(_ server: ScriptedModelServer, _ cluster: Cluster) -> [String] {
        ["--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(cluster.directory)/codex-home"]
    }

    func start(_ cluster: Cluster, job: String, goal: String = Self.goal, repository: String) async throws -> JobView {
        let reply = try await cluster.control.request(
            .job,
            JobRequest(action: .start, job: job, goal: goal, repository: repository, base: "main"),
            as: JobsBody.self
        )
        return try #require(reply.jobs.first)
    }

    func show(_ cluster: Cluster, _ job: String) async throws -> JobView {
        try #require(try await cluster.control.request(.job, JobRequest(action: .show, job: job), as: JobsBody.self).jobs.first)
    }

    @discardableResult
    func waitForJob(
        _ cluster: Cluster,
        _ job: String,
        _ what: String,
        timeout: Duration = .seconds(120),
        _ condition: (JobView) -> Bool
    ) async throws -> JobView {
        var last: JobView?
        let met = try await poll(within: timeout, every: .milliseconds(100)) { () async throws -> JobView? in
            let view = try? await show(cluster, job)
            last = view ?? last
            return view.flatMap { condition($0) ? $0 : nil }
        }
        if let met { return met }
        let workers = cluster.workers.map { "--- \($0.key):\n\($0.value.output.suffix(1500))" }.joined(separator: "\n")
        throw TestFailure("job \(job) did not get to \(what): it is \(last?.state.rawValue ?? "?") (\(last?.reason ?? ""))\n\(workers)")
    }

    // MARK: -

    /// The whole way: classify, investigate, a plan with a cycle sent back and then a valid one, one grant approved
    /// and one refused (its TODO skipped), the plan run; then a second job on the same repository, whose grants were
    /// remembered, is not asked.
    @Test func aGoalRunsThroughEveryStepToItsEnd() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: [.message(Self.cyclicPlan), .message(Self.plan)]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2, extra: codex(server, cluster))
            try await cluster.waitForStatus("the worker to register") { $0.workers.count == 1 }

            _ = try await start(cluster, job: "notes", repository: repository)
            let asking = try await waitForJob(cluster, "notes", "its permissions") { $0.state == .permissionNegotiate }
            #expect(asking.classification?.summary == "notes and a summary")
            #expect(asking.context?.contains("## How to test\ntest -f README") == true)
            #expect(asking.plan?.todos.map(\.id) == ["notes", "summary", "fetch"])
            #expect(asking.grants?.map(\.id) == ["network", "risk:high"])

            // Each step's request carried its schema; the planner's second request quoted the validator.
            let steps = server.responseRequests.filter { $0.text.contains("Drover job step:") }
            for step in JobStep.allCases {
                let request = try #require(steps.first { $0.text.contains("Drover job step: \(step.rawValue)") })
                #expect(request.text.contains("json_schema"), "the \(step) request carries the output schema")
            }
            let planRequests = steps.filter { $0.text.contains("Drover job step: plan") }
            #expect(planRequests.count == 2)
            #expect(planRequests.last?.text.contains("dependency cycle: a -> b -> a") == true)
            #expect(planRequests.first?.text.contains("Context from the investigation") == true)

            let inbox = try await cluster.control.request(.inbox, EmptyBody(), as: InboxBody.self)
            let item = try #require(inbox.items.first { $0.job == "notes" })
            _ = try await cluster.control.request(
                .answer,
                AnswerBody(item: item.id, decision: .approve, grants: ["risk:high"], remember: true),
                as: AnswerBody.self
            )
            let done = try await waitForJob(cluster, "notes", "done") { $0.state.isTerminal }
            #expect(done.state == .done, "\(done.reason)")
            #expect(done.transitions.map(\.to) == [.classify, .investigate, .plan, .permissionNegotiate, .execute, .finalize, .done])
            #expect(done.counts == ["done": 2])
            #expect(done.skipped == ["fetch"])
            let status = try await cluster.status()
            #expect(status.plans.first { $0.id == "notes" }?.state == .done)
            #expect(!status.todos.contains { $0.plan == "notes" && $0.id == "fetch" }, "left out of the plan that ran")
            // Each TODO's first prompt carried the context document.
            let notes = try #require(server.responseRequests.first { $0.text.contains("Write notes.txt.") })
            #expect(notes.text.contains("Context from the investigation of the repository"))
            #expect(!server.responseRequests.contains { $0.text.contains("Fetch the data.") && !$0.text.contains("Drover job step") })
            try await sh("git --git-dir remote.git show drover/notes/summary:summary.txt", in: cluster.directory)

            // The same grants again, on the same repository: decided by the remembered policy, not asked.
            _ = try await start(cluster, job: "again", repository: repository)
            let again = try await waitForJob(cluster, "again", "its end") { $0.state.isTerminal }
            #expect(again.state == .done, "\(again.reason)")
            #expect(again.permissions?.decidedBy == "policy")
            let events = try cluster.events()
            #expect(events.filter { $0.type == .jobPermissionsAsked }.map(\.plan) == ["notes"])
        }
    }

    @Test func aPlannerThatKeepsFailingFailsTheJobNamingTheProblems() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: []))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", extra: codex(server, cluster))
            _ = try await start(cluster, job: "loop", repository: repository)
            let failed = try await waitForJob(cluster, "loop", "its end") { $0.state.isTerminal }
            #expect(failed.state == .failed)
            #expect(failed.reason.contains("dependency cycle: a -> b -> a"), "\(failed.reason)")
            #expect(server.responseRequests.filter { $0.text.contains("Drover job step: plan") }.count == 3)
        }
    }

    @Test func aQuestionIsAnsweredAfterClassify() async throws {
        let answer = #"{"kind":"question","complexity":"low","needs_investigation":false,"summary":"asks","answer":"It has a README."}"#
        let server = try ScriptedModelServer(scripts: [ModelScript([.message(answer)], match: "Drover job step: classify")])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", extra: codex(server, cluster))
            _ = try await start(cluster, job: "ask", goal: "What is in this repository?", repository: repository)
            let done = try await waitForJob(cluster, "ask", "its end") { $0.state.isTerminal }
            #expect(done.state == .done)
            #expect(done.answer == "It has a README.")
            #expect(done.transitions.map(\.to) == [.classify, .done])
            #expect(server.responseRequests.count == 1)
        }
    }

    /// The coordinator is killed while the planner works, and again while the permissions wait: the job resumes
    /// where it was each time, and the operator is asked once.
    @Test func aKilledCoordinatorResumesTheJobWhereItWas() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: [.shell("sleep 2"), .message(Self.plan)]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2, extra: codex(server, cluster))
            _ = try await start(cluster, job: "crash", repository: repository)
            try await waitForJob(cluster, "crash", "planning") { $0.state == .plan }
            await cluster.killCoordinator()
            try await cluster.startCoordinator()
            #expect(try await show(cluster, "crash").state == .plan)
            try await waitForJob(cluster, "crash", "its permissions") { $0.state == .permissionNegotiate }
            await cluster.killCoordinator()
            try await cluster.startCoordinator()
            let inbox = try await cluster.control.request(.inbox, EmptyBody(), as: InboxBody.self)
            let item = try #require(inbox.items.first)
            #expect(inbox.items.count == 1)
            _ = try await cluster.control.request(.answer, AnswerBody(item: item.id, decision: .approve), as: AnswerBody.self)
            let done = try await waitForJob(cluster, "crash", "its end") { $0.state.isTerminal }
            #expect(done.state == .done, "\(done.reason)")
            let events = try cluster.events()
            #expect(events.filter { $0.type == .jobPermissionsAsked }.count == 1, "asked once")
            #expect(events.filter { $0.type == .coordinatorStarted }.count == 3)
            #expect(done.transitions.map(\.to) == [.classify, .investigate, .plan, .permissionNegotiate, .execute, .finalize, .done])
        }
    }

    /// The worker investigating is killed: the step runs again on the other worker.
    @Test func aKilledWorkersStepRunsAgainElsewhere() async throws {
        let slowOnce = ModelScript.Reply.once(.shell("sleep 60"), then: .shell("ls"))
        let server = try ScriptedModelServer(
            scripts: Self.scripts(plan: [.message(Self.plan)], investigate: [slowOnce, .message(Self.investigation)])
        )
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("first", extra: codex(server, cluster))
            try await cluster.waitForStatus("the first worker to register") { $0.workers.count == 1 }
            _ = try await start(cluster, job: "lost", repository: repository)
            try await cluster.waitForStatus("the investigation to run") { status in
                status.todos.contains { $0.plan == "lost-investigate" && $0.state == .running }
            }
            try cluster.startWorker("second", extra: codex(server, cluster))
            try await cluster.waitForStatus("the second worker to register") { $0.workers.count == 2 }
            await cluster.killWorker("first")
            let asking = try await waitForJob(cluster, "lost", "its permissions") { $0.state == .permissionNegotiate }
            #expect(asking.context != nil)
            let events = try cluster.events()
            #expect(events.contains { $0.type == .todoRequeued && $0.plan == "lost-investigate" })
            #expect(events.last { $0.type == .todoDone && $0.plan == "lost-investigate" }?.worker == "second")
        }
    }

    /// The dashboard's job view in a real headless Chromium: the current state is highlighted, and the permissions
    /// item is answered from the page, one grant unticked.
    @Test(.enabled(if: DashboardTests.chromium != nil, "needs Chromium (apt install chromium)"))
    func theDashboardShowsTheJobAndTakesItsPermissions() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: [.message(Self.plan)]))
        defer { server.stop() }
        let artifacts = DashboardTests.repository.appendingPathComponent(".build/artifacts").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = "\(artifacts)/dashboard-job.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2, extra: codex(server, cluster))
            let browser = try cluster.startCommand(
                "chromium",
                [
                    "/usr/bin/env", "python3", DashboardTests.repository.appendingPathComponent("Tests/Browser/job_check.py").path,
                    "--url", try #require(cluster.dashboard), "--chromium", try #require(DashboardTests.chromium), "--job", "web",
                    "--refuse", "network", "--final-state", "done", "--screenshot", screenshot,
                ]
            )
            _ = try await browser.waitForLine(containing: "READY", timeout: .seconds(60))
            _ = try await start(cluster, job: "web", repository: repository)
            #expect(try await browser.wait(timeout: .seconds(150)) == 0, "\(browser.output)")
            #expect(browser.output.contains("INBOX web-permissions-1 network risk:high"))
            #expect(browser.output.contains("REPORT drover/web/integration at"), "\(browser.output)")
            #expect(browser.output.contains("2 merged"))
            let done = try await show(cluster, "web")
            #expect(done.state == .done, "\(done.reason)")
            #expect(done.permissions?.granted == ["risk:high"])
            #expect(done.permissions?.refused == ["network"])
            let png = try #require(FileManager.default.contents(atPath: screenshot))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG screenshot")
        }
    }

    /// Runs `drover` against the cluster's coordinator; returns its exit status and output.
    func drover(_ cluster: Cluster, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let control = try #require(cluster.endpoints?.control)
        let process = try cluster.start("drover", arguments + ["--control", control])
        let status = try await process.wait(timeout: .seconds(30))
        return (status, process.output)
    }

    /// The command line against a real coordinator: a job started, a wrong answer refused with the coordinator's
    /// words, the right one taken and remembered, the job shown as JSON, and its plan exported as a plan file that
    /// runs again once given an id of its own.
    @Test func theCommandLineRunsAJobFromStartToItsExportedPlan() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: [.message(Self.plan)]))
        defer { server.stop() }
        try await Cluster.with { cluster in
            let repository = try await makeRepository(in: cluster.directory)
            try await cluster.startCoordinator()
            try cluster.startWorker("w1", slots: 2, extra: codex(server, cluster))

            let missing = try await drover(cluster, ["job", "start", Self.goal, "--repository", repository, "--base", "nope"])
            #expect(missing.status != 0)
            #expect(missing.output.contains("nope"), "\(missing.output)")
            let started = try await drover(
                cluster,
                ["job", "start", Self.goal, "--repository", repository, "--base", "main", "--id", "cli"]
            )
            #expect(started.status == 0, "\(started.output)")
            try await waitForJob(cluster, "cli", "its permissions") { $0.state == .permissionNegotiate }

            let inbox = try await drover(cluster, ["inbox"])
            #expect(inbox.output.contains("cli-permissions-1"), "\(inbox.output)")
            #expect(inbox.output.contains("network"))
            let wrong = try await drover(cluster, ["answer", "cli-permissions-1", "--grant", "write:/etc"])
            #expect(wrong.status != 0)
            #expect(wrong.output.contains("does not ask for write:/etc"), "\(wrong.output)")
            let right = try await drover(cluster, ["answer", "cli-permissions-1", "--grant", "risk:high", "--remember"])
            #expect(right.status == 0, "\(right.output)")
            try await waitForJob(cluster, "cli", "its end") { $0.state.isTerminal }

            let shown = try await drover(cluster, ["job", "show", "cli", "--json"])
            let view = try JSONDecoder().decode(JobView.self, from: Data(shown.output.utf8))
            #expect(view.state == .done)
            #expect(view.permissions?.refused == ["network"])
            let policy = try await drover(cluster, ["policy", "list", "--json"])
            #expect(policy.output.contains("risk:high") && policy.output.contains("network"), "\(policy.output)")
            let unknown = try await drover(cluster, ["job", "show", "nope"])
            #expect(unknown.status != 0)
            #expect(unknown.output.contains("no job nope"), "\(unknown.output)")

            // The plan, exported, edited (an id of its own) and submitted, runs as any plan file does.
            let exported = try await drover(cluster, ["job", "plan", "cli"])
            #expect(exported.status == 0)
            let file = "\(cluster.directory)/exported.yaml"
            try exported.output.replacingOccurrences(of: "id: cli\n", with: "id: cli-again\n").write(
                toFile: file,
                atomically: true,
                encoding: .utf8
            )
            let submitted = try await drover(cluster, ["plan", "submit", file])
            #expect(submitted.status == 0, "\(submitted.output)\n\(exported.output)")
            try await cluster.waitForPlan("cli-again")
        }
    }

    /// `drover run --goal` on a laptop, in a real terminal: the job's moves are printed, the operator is asked grant
    /// by grant and answers at the keyboard, and the run ends with the job, exit 0.
    @Test(.enabled(if: Tmux.available, "needs tmux"))
    func runWithAGoalAsksTheOperatorAtTheTerminal() async throws {
        let server = try ScriptedModelServer(scripts: Self.scripts(plan: [.message(Self.plan)]))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let repository = try await makeRepository(in: directory.path)
        let command = [
            TestProcess.droverPath, "run", "--goal", "'\(Self.goal)'", "--repository", repository, "--base", "main", "--id", "laptop",
            "--workers", "2", "--agent", "codex", "--model-base-url", server.baseURL, "--codex-home", "\(directory.path)/codex-home",
        ].joined(separator: " ")
        let tmux = Tmux(columns: 200, rows: 60)
        try await tmux.run(["/bin/sh", "-c", "cd \(directory.path) && \(command); echo EXIT=$?; exec sleep 120"])
        do {
            _ = try await tmux.waitForScreen(timeout: .seconds(90)) { $0.contains("grant network") && $0.contains("[y/n]") }
            try await tmux.tmux(["send-keys", "n", "Enter"])
            _ = try await tmux.waitForScreen { $0.contains("grant risk:high") }
            try await tmux.tmux(["send-keys", "y", "Enter"])
            _ = try await tmux.waitForScreen { $0.contains("make the plan again without the refused grants") }
            try await tmux.tmux(["send-keys", "n", "Enter"])
            _ = try await tmux.waitForScreen { $0.contains("remember this decision") }
            try await tmux.tmux(["send-keys", "y", "Enter"])
            let screen = try await tmux.waitForScreen(timeout: .seconds(90)) { $0.contains("EXIT=") }
            await tmux.end()
            #expect(screen.contains("EXIT=0"), "\(screen)")
            #expect(screen.contains("job laptop: classify → investigate"))
            #expect(screen.contains("job laptop: plan → permission_negotiate"))
            #expect(screen.contains("answered: granted risk:high, refused network"), "\(screen)")
            #expect(screen.contains("job laptop done"))
        } catch {
            await tmux.end()
            throw error
        }
    }
}
