import DroverClients
import DroverPlans
import DroverProtocol
import DroverTesting
import Foundation
import Testing

/// What the client library does for jobs without a coordinator: naming repositories, checking them with git, the
/// answers to permissions items, and the text shown for jobs.
@Suite(.timeLimit(.minutes(1)))
struct JobClientTests {
    @Test(arguments: [
        ("https://example.com/app.git", true), ("ssh://host/app", true), ("file:///srv/app", true), ("git@host:team/app.git", true),
        ("host:app", true), (".", false), ("../app", false), ("/srv/app", false), ("dir/with:colon", false),
    ])
    func repositoriesAreURLsOrPathsAsGitReadsThem(text: String, remote: Bool) {
        let location = RepositoryLocation(text, relativeTo: "/work/here")
        if remote {
            #expect(location == .remote(text))
        } else {
            guard case .local(let path) = location else {
                Issue.record("\(text) should be a path")
                return
            }
            #expect(path.hasPrefix("/"))
        }
        #expect(RepositoryLocation("../app", relativeTo: "/work/here") == .local("/work/app"))
    }

    @Test func localRepositoriesAreCheckedWithGit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let repository = directory.path + "/repo"
        try FileManager.default.createDirectory(atPath: repository + "/sub", withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main"], in: repository)
        try "x".write(toFile: repository + "/sub/file", atomically: true, encoding: .utf8)
        try git(["add", "."], in: repository)
        try git(["commit", "-q", "-m", "one"], in: repository)

        #expect(try GitRepositoryCheck.check(repository: "repo/sub", base: "main", relativeTo: directory.path) == repository)
        #expect(try GitRepositoryCheck.check(repository: repository, base: nil) == repository)
        #expect(GitRepositoryCheck.name(of: repository + "/sub") == repository)

        // A bare repository, as plans often name a shared one, is its own git directory.
        try git(["clone", "-q", "--bare", repository, directory.path + "/shared.git"], in: directory.path)
        #expect(
            try GitRepositoryCheck.check(repository: "shared.git", base: "main", relativeTo: directory.path) == directory.path
                + "/shared.git"
        )
        let gitDirectory = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: repository + "/.git", base: nil)
        }
        #expect(gitDirectory?.message.contains("not a work tree") == true)

        let missing = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: "ghost", base: nil, relativeTo: directory.path)
        }
        #expect(missing?.message.contains("\(directory.path)/ghost does not exist") == true)
        let notGit = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: directory.path, base: nil)
        }
        #expect(notGit?.message.contains("is not a git repository") == true)
        let file = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: repository + "/sub/file", base: nil)
        }
        #expect(file?.message.contains("is a file, not a directory") == true)
        let noBranch = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: repository, base: "develop")
        }
        #expect(noBranch?.message.contains("has no branch \"develop\" (its branches: main)") == true)
        let badName = #expect(throws: DroverError.self) {
            try GitRepositoryCheck.check(repository: repository, base: "a b")
        }
        #expect(badName?.message.contains("not a valid branch name") == true)
    }

    @Test func aFreshRepositoryWithNoCommitsHasNoBranchesYet() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try git(["init", "-q", "-b", "main"], in: directory.path)
        let error = #expect(throws: DroverError.self) { try GitRepositoryCheck.check(repository: directory.path, base: "main") }
        #expect(error?.message.contains("it has no branches yet") == true)
    }

    @Test func permissionAnswersApproveAllSomeOrNone() {
        let asked = ["network", "risk:high", "write:/srv/cache"]
        let all = PermissionAnswer(asked: asked, granted: Set(asked), remember: true)
        #expect(all.body(item: "i") == AnswerBody(item: "i", decision: .approve, remember: true))
        #expect(all.command(item: "i") == "drover approve i --remember")

        let some = PermissionAnswer(asked: asked, granted: ["write:/srv/cache", "network"], replan: true)
        #expect(some.refused == ["risk:high"])
        #expect(some.body(item: "i") == AnswerBody(item: "i", decision: .approve, grants: ["network", "write:/srv/cache"], replan: true))
        #expect(
            some.command(item: "i", arguments: ["--state-dir", "my dir"])
                == "drover answer i --grant network --grant write:/srv/cache --replan --state-dir 'my dir'"
        )

        let none = PermissionAnswer(asked: asked, granted: [])
        #expect(none.body(item: "i") == AnswerBody(item: "i", decision: .deny))
        #expect(none.command(item: "i") == "drover deny i")
        for answer in [all, some, none] { #expect(throws: Never.self) { try answer.body(item: "i").validate() } }
    }

    @Test func shellWordsAreQuotedOnlyWhenNeeded() {
        #expect(ShellWord.quote("risk:high") == "risk:high")
        #expect(ShellWord.quote("a b") == "'a b'")
        #expect(ShellWord.quote("it's") == "'it'\\''s'")
        #expect(ShellWord.quote("") == "''")
    }

    @Test func aJobIsShownWithItsHistoryAndArtifacts() {
        var job = JobView(
            id: "q1",
            goal: "What does the login do?",
            repository: "/srv/app",
            state: .done,
            reason: "a question: answered",
            createdAt: 0,
            updatedAt: 1000,
            transitions: [
                JobTransition(from: nil, to: .classify, reason: "started", at: 0),
                JobTransition(from: .classify, to: .done, reason: "a question: answered", at: 1000),
            ]
        )
        job.classification = Classification(
            kind: .question,
            complexity: "low",
            needsInvestigation: false,
            summary: "How login works.",
            answer: "It checks the password hash."
        )
        job.answer = "It checks the password hash."
        job.permissions = PermissionDecision(
            granted: ["network"],
            refused: ["risk:high"],
            replan: true,
            remember: true,
            decidedBy: "operator"
        )
        job.skipped = ["deploy"]
        let text = JobText.render(job)
        #expect(text.contains("job q1 [done]"))
        #expect(text.contains("1970-01-01T00:00:00Z  start → classify: started"))
        #expect(text.contains("classify → done: a question: answered"))
        #expect(text.contains("classification: question, complexity low"))
        #expect(text.contains("answer:\n  It checks the password hash."))
        #expect(
            text.contains(
                "permission decision (by operator): granted network; refused risk:high (the plan is made again without them); remembered for the repository"
            )
        )
        #expect(text.contains("skipped, left out of the plan that runs: deploy"))
        #expect(JobText.listLine(job) == "q1  [done]  What does the login do?  (a question: answered)")
        #expect(!text.contains("spent:"), "nothing spent, nothing said")

        job.tokens = 220_000
        job.costUSD = 0.6
        job.spend = [
            PlanSpend(plan: "q1-classify", tokens: 110_000, costUSD: 0.3), PlanSpend(plan: "q1-investigate", tokens: 110_000, costUSD: nil),
        ]
        let spent = JobText.render(job)
        #expect(spent.contains("  spent: 220000 tokens, $0.60\n    plan q1-classify: 110000 tokens, $0.30\n"), "\(spent)")
        #expect(spent.contains("    plan q1-investigate: 110000 tokens (no price known)"), "\(spent)")
    }

    @Test func aFollowerSeesEachTransitionOnceThePermissionsItemOnceAndTheEnd() {
        var job = JobView(id: "j", goal: "g", repository: "/r", state: .classify, reason: "started", createdAt: 0, updatedAt: 0)
        let first = JobTransition(from: nil, to: .classify, reason: "started", at: 0)
        job.transitions = [first]
        var changes = JobChanges()
        #expect(changes.update(job) == [.transition(first)])
        #expect(changes.update(job) == [], "nothing new")

        let toPlan = JobTransition(from: .classify, to: .plan, reason: "one file", at: 1)
        let toAsk = JobTransition(from: .plan, to: .permissionNegotiate, reason: "needs network", at: 2)
        job.transitions += [toPlan, toAsk]
        job.state = .permissionNegotiate
        job.inboxItem = "item-1"
        #expect(changes.update(job) == [.transition(toPlan), .transition(toAsk), .permissionsAsked(item: "item-1")])
        #expect(changes.update(job) == [], "the item is handled once")

        let toExecute = JobTransition(from: .permissionNegotiate, to: .execute, reason: "approved", at: 3)
        job.transitions.append(toExecute)
        job.state = .execute
        job.inboxItem = nil
        job.counts = ["running": 1]
        #expect(changes.update(job) == [.transition(toExecute), .planProgress])

        let toDone = JobTransition(from: .execute, to: .done, reason: "every TODO done", at: 4)
        job.transitions.append(toDone)
        job.state = .done
        job.counts = ["done": 1]
        #expect(changes.update(job) == [.transition(toDone), .planProgress, .ended(.done)])
    }
}
