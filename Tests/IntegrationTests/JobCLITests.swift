import DroverProtocol
import DroverTesting
import Foundation
import Testing

/// `drover job`, `drover policy`, permissions in `drover inbox` and `drover answer`, and `drover run --goal`, as
/// far as they can be tried without a coordinator that runs jobs: argument checks, the checks made with git
/// before a job starts, and what is printed for the replies a coordinator gives (from a fake control socket).
@Suite(.timeLimit(.minutes(2)))
struct JobCLITests {
    /// Runs `drover` in `directory`; returns its exit status and output (stdout and stderr).
    func drover(_ arguments: [String], in directory: String) async throws -> (Int32, String) {
        let process = try TestProcess(name: "drover", arguments: arguments, directory: directory)
        let status = try await process.wait(timeout: .seconds(30))
        return (status, process.output)
    }

    /// A temporary directory holding `repo`, a git repository with one commit on `main` and a branch `feature`.
    func withRepository<Value>(_ body: (_ directory: String, _ repository: String) async throws -> Value) async throws -> Value {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let repository = directory.path + "/repo"
        try FileManager.default.createDirectory(atPath: repository + "/src", withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main"], in: repository)
        try "hello\n".write(toFile: repository + "/README", atomically: true, encoding: .utf8)
        try git(["add", "README"], in: repository)
        try git(["commit", "-q", "-m", "first"], in: repository)
        try git(["branch", "feature"], in: repository)
        return try await body(directory.path, repository)
    }

    // MARK: Checks before a job starts

    @Test(arguments: [
        (["job", "start", "  ", "--repository", "."], "the goal is empty"),
        (["job", "start", "Fix it"], "--repository is required"),
        (["job", "start", "Fix it", "--repository", ".", "--base", "bad..name"], "--base \"bad..name\" is not a valid branch name"),
        (["job", "start", "Fix it", "--repository", ".", "--id", "has.dot"], "--id"),
        (["job", "start", "Fix it", "--repository", ".", "--id", String(repeating: "j", count: 49)], "longer than 48"),
        (["job", "show", "no/such"], "is not a job id"),
        (["policy", "forget", "--repository", ""], "--repository is empty"),
        (["answer", "item-1", "--replan"], "--replan goes with --grant"),
        (["answer", "item-1", "some text", "--grant", "network"], "not both"),
        (["answer", "item-1", "--grant", ""], "is empty"),
        (["answer", "item-1"], "give the answer's text"),
        (["run"], "give a plan file"),
        (["run", "plan.yaml", "--goal", "Fix it"], "not both"),
        (["run", "plan.yaml", "--repository", "."], "go with --goal"),
        (["run", "--goal", "Fix it", "--repository", "."], "--goal needs --agent codex"),
        (["run", "--goal", "", "--repository", ".", "--agent", "codex"], "the goal is empty"),
    ])
    func badArgumentsAreRefusedWithTheReason(arguments: [String], message: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (status, output) = try await drover(arguments, in: directory.path)
        #expect(status != 0)
        #expect(output.contains(message), "\(arguments): \(output)")
    }

    @Test func aRepositoryThatDoesNotExistIsNamed() async throws {
        try await withRepository { directory, _ in
            let (status, output) = try await drover(
                ["job", "start", "Fix it", "--repository", "nowhere", "--control", "tcp://127.0.0.1:1"],
                in: directory
            )
            #expect(status == 1)
            #expect(output.contains("the repository \(directory)/nowhere does not exist"), "\(output)")
        }
    }

    @Test func aDirectoryThatIsNotAGitRepositoryIsRefused() async throws {
        try await withRepository { directory, _ in
            try FileManager.default.createDirectory(atPath: directory + "/plain", withIntermediateDirectories: true)
            let (status, output) = try await drover(
                ["job", "start", "Fix it", "--repository", "plain", "--control", "tcp://127.0.0.1:1"],
                in: directory
            )
            #expect(status == 1)
            #expect(output.contains("\(directory)/plain is not a git repository"), "\(output)")
            #expect(output.contains("git init"))
        }
    }

    @Test func aBaseBranchTheRepositoryLacksIsRefusedWithItsBranches() async throws {
        try await withRepository { directory, _ in
            let (status, output) = try await drover(
                ["job", "start", "Fix it", "--repository", "repo", "--base", "release", "--control", "tcp://127.0.0.1:1"],
                in: directory
            )
            #expect(status == 1)
            #expect(output.contains("has no branch \"release\""), "\(output)")
            #expect(output.contains("feature, main"), "\(output)")
        }
    }

    // MARK: Against a fake coordinator

    static let job: JobView = {
        var job = JobView(
            id: "fix-login",
            goal: "Fix the login bug",
            repository: "/srv/app",
            base: "main",
            state: .permissionNegotiate,
            reason: "the plan needs permissions",
            createdAt: 1_700_000_000_000,
            updatedAt: 1_700_000_060_000,
            transitions: [
                JobTransition(from: nil, to: .classify, reason: "started", at: 1_700_000_000_000),
                JobTransition(from: .classify, to: .investigate, reason: "a change to several files", at: 1_700_000_010_000),
                JobTransition(from: .investigate, to: .plan, reason: "context document written", at: 1_700_000_030_000),
                JobTransition(from: .plan, to: .permissionNegotiate, reason: "the plan needs permissions", at: 1_700_000_060_000),
            ]
        )
        job.classification = Classification(
            kind: .multiFileChange,
            complexity: "medium",
            needsInvestigation: true,
            summary: "Login accepts empty passwords."
        )
        job.context = "# Context\n\n## Summary\nA web app."
        job.plan = Plan(
            id: "fix-login",
            title: "Fix the login bug",
            repository: "/srv/app",
            base: "main",
            context: "# Context\n\n## Summary\nA web app.\n",
            todos: [
                Todo(
                    id: "fix",
                    title: "Refuse empty passwords",
                    prompt: "Refuse empty passwords: \"\" is not one.\n# not a comment",
                    checks: [Check(command: "make test")],
                    files: ["src/login.*"],
                    estimateMinutes: 15
                ),
                Todo(id: "deploy", prompt: "Deploy it", dependsOn: ["fix"], risk: .high, permissions: Permissions(network: true)),
            ]
        )
        job.grants = [
            PermissionGrant(id: "network", description: "reach the network from the sandbox", todos: ["deploy"]),
            PermissionGrant(id: "risk:high", description: "run TODOs of high risk", todos: ["deploy"]),
        ]
        job.inboxItem = "job-fix-login-permissions"
        return job
    }()

    static let item = InboxItem(
        id: "job-fix-login-permissions",
        plan: "fix-login",
        todo: "",
        worker: "",
        kind: .permissions,
        text: "The plan of job fix-login needs 2 permissions.",
        askedAt: 1_700_000_060_000,
        job: "fix-login",
        grants: job.grants
    )

    /// The fake's answers: `fix-login` exists, other jobs do not; the permissions item takes only its own grants.
    static func coordinator(_ type: MessageType, _ body: Data) -> FakeControl.Reply {
        switch type {
        case .job:
            guard let request = try? JSONDecoder().decode(JobRequest.self, from: body) else { return .error(ProtocolError(.badJSON, "?")) }
            if request.action == .list { return .body(JobsBody(jobs: [job])) }
            if request.action == .start {
                var started = JobView(
                    id: request.job ?? "job-1",
                    goal: request.goal ?? "",
                    repository: request.repository ?? "",
                    base: request.base,
                    state: .classify,
                    reason: "started",
                    createdAt: 1,
                    updatedAt: 1
                )
                started.step = "\(started.id)-classify"
                return .body(JobsBody(jobs: [started]))
            }
            guard request.job == job.id else {
                return .error(ProtocolError(.rejected, "no job \(request.job ?? "") (see `drover job list`)"))
            }
            return .body(JobsBody(jobs: [job]))
        case .inbox:
            return .body(InboxBody(items: [item]))
        case .answer:
            guard let answer = try? JSONDecoder().decode(AnswerBody.self, from: body) else { return .error(ProtocolError(.badJSON, "?")) }
            let unknown = (answer.grants ?? []).filter { grant in !(item.grants ?? []).contains { $0.id == grant } }
            if !unknown.isEmpty {
                return .error(
                    ProtocolError(.rejected, "the item does not ask for \(unknown.joined(separator: ", ")); it asks for network, risk:high")
                )
            }
            return .body(answer)
        case .policy:
            return .body(
                PolicyBody(rules: [
                    PolicyRule(repository: "/srv/app", grant: "network", decision: .approve, decidedAt: 1_700_000_000_000, job: "fix-login")
                ])
            )
        default:
            return .error(ProtocolError(.unknownType, "not faked"))
        }
    }

    @Test func jobShowPrintsTheHistoryAndEveryArtifact() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, _ in
            let (status, output) = try await drover(["job", "show", "fix-login", "--control", endpoint], in: directory.path)
            #expect(status == 0, "\(output)")
            for expected in [
                "job fix-login [permission_negotiate]",
                "start → classify: started",
                "classify → investigate: a change to several files",
                "plan → permission_negotiate: the plan needs permissions",
                "classification: multi_file_change, complexity medium",
                "context document:",
                "plan fix-login: Fix the login bug, 2 TODOs",
                "deploy: deploy (after fix; risk high)",
                "network: reach the network from the sandbox; needed by deploy",
                "inbox item job-fix-login-permissions",
            ] {
                #expect(output.contains(expected), "\(expected) in:\n\(output)")
            }
        }
    }

    @Test func jobJSONOutputIsTheJobViewForScripts() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, _ in
            let (status, output) = try await drover(["job", "show", "fix-login", "--json", "--control", endpoint], in: directory.path)
            #expect(status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
            #expect(object?["state"] as? String == "permission_negotiate")
            #expect(object?["inbox_item"] as? String == "job-fix-login-permissions")
            #expect((object?["transitions"] as? [[String: Any]])?.count == 4)
            #expect((object?["grants"] as? [[String: Any]])?.first?["todos"] as? [String] == ["deploy"])
            let decoded = try JSONDecoder().decode(JobView.self, from: Data(output.utf8))
            #expect(decoded == Self.job)

            let (_, list) = try await drover(["job", "list", "--json", "--control", endpoint], in: directory.path)
            #expect(try JSONDecoder().decode(JobsBody.self, from: Data(list.utf8)).jobs == [Self.job])
            let (_, rules) = try await drover(["policy", "list", "--json", "--control", endpoint], in: directory.path)
            #expect(try JSONDecoder().decode(PolicyBody.self, from: Data(rules.utf8)).rules.first?.grant == "network")
        }
    }

    @Test func anUnknownJobGetsTheCoordinatorsError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, _ in
            for action in ["show", "cancel", "plan"] {
                let (status, output) = try await drover(["job", action, "ghost", "--control", endpoint], in: directory.path)
                #expect(status != 0)
                #expect(output.contains("no job ghost (see `drover job list`)"), "\(action): \(output)")
            }
        }
    }

    @Test func jobPlanPrintsAPlanFileThatReadsBackToTheSamePlan() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, _ in
            let (status, output) = try await drover(["job", "plan", "fix-login", "--control", endpoint], in: directory.path)
            #expect(status == 0, "\(output)")
            try output.write(toFile: directory.path + "/plan.yaml", atomically: true, encoding: .utf8)
            let (valid, validation) = try await drover(["plan", "validate", "plan.yaml"], in: directory.path)
            #expect(valid == 0, "\(validation)\n\(output)")
            #expect(validation.contains("plan fix-login is valid: 2 TODOs"))
        }
    }

    @Test func jobStartSendsTheCheckedRepositoryAsItsTopDirectory() async throws {
        try await withRepository { directory, repository in
            try await FakeControl.with(answer: Self.coordinator) { endpoint, fake in
                let (status, output) = try await drover(
                    ["job", "start", "Fix it", "--repository", "src", "--base", "feature", "--id", "j1", "--control", endpoint],
                    in: repository
                )
                #expect(status == 0, "\(output)")
                #expect(output.contains("started job j1 [classify]"))
                let sent = fake.bodies(.job, as: JobRequest.self)
                #expect(sent == [JobRequest(action: .start, job: "j1", goal: "Fix it", repository: repository, base: "feature")])
            }
        }
    }

    @Test func inboxShowsEachGrantWithTheTodosThatNeedIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, _ in
            let (status, output) = try await drover(["inbox", "--control", endpoint], in: directory.path)
            #expect(status == 0)
            #expect(output.contains("job-fix-login-permissions  permissions for job fix-login"), "\(output)")
            #expect(output.contains("- risk:high: run TODOs of high risk; needed by deploy"), "\(output)")
            #expect(output.contains("--grant"))
        }
    }

    @Test func answerSendsTheGrantsReplanAndRemember() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await FakeControl.with(answer: Self.coordinator) { endpoint, fake in
            let item = "job-fix-login-permissions"
            let (status, output) = try await drover(
                ["answer", item, "--grant", "network", "--replan", "--remember", "--control", endpoint],
                in: directory.path
            )
            #expect(status == 0, "\(output)")
            #expect(output.contains("approved network, refused the rest; the plan is made again"), "\(output)")
            let (denied, _) = try await drover(["deny", item, "--remember", "--control", endpoint], in: directory.path)
            #expect(denied == 0)
            let (approved, _) = try await drover(["approve", item, "--control", endpoint], in: directory.path)
            #expect(approved == 0)
            #expect(
                fake.bodies(.answer, as: AnswerBody.self) == [
                    AnswerBody(item: item, decision: .approve, grants: ["network"], replan: true, remember: true),
                    AnswerBody(item: item, decision: .deny, remember: true),
                    AnswerBody(item: item, decision: .approve),
                ]
            )
            let (refused, refusal) = try await drover(["answer", item, "--grant", "sudo", "--control", endpoint], in: directory.path)
            #expect(refused != 0)
            #expect(refusal.contains("the item does not ask for sudo"), "\(refusal)")
        }
    }
}
