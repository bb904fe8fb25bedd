import DroverProtocol
import Testing

@testable import Coordinator

/// The review's figures against a hand calculation.
@Suite struct ReviewerTests {
    static let now: Int64 = 10_000_000

    func item(
        _ id: String,
        _ state: TodoState,
        after: [String] = [],
        seconds: Int64? = nil,
        startedAgo: Int64? = nil,
        files: [String] = [],
        declared: [String] = [],
        repairs: Int = 0
    ) -> ReviewInput.Item {
        var facts = WorkFacts()
        facts.durationMs = seconds.map { $0 * 1000 }
        facts.startedAt = startedAgo.map { Self.now - $0 * 1000 }
        if state == .done { facts.finishedAt = Self.now - 60_000 }
        facts.files = files
        return ReviewInput.Item(
            key: "p/\(id)",
            plan: "p",
            title: id,
            state: state,
            dependsOn: after.map { "p/\($0)" },
            branch: "drover/p/\(id)",
            facts: facts,
            repairs: repairs,
            detail: state == .failed ? "tests fail" : nil,
            touchedFiles: declared + files
        )
    }

    @Test func branchesThatMayTouchTheSameFilesAreARiskWhetherDeclaredOrChanged() {
        let items = [
            item("routes", .running, declared: ["Sources/App/*.swift"]),
            item("auth", .ready, declared: ["Sources/App/Auth.swift"]),
            item("docs", .done, files: ["README.md"], declared: ["docs/**"]),
            item("readme", .running, files: ["README.md"]),
            item("tests", .ready, declared: ["Tests/**"]),
            item("gone", .skipped, declared: ["Tests/**"]),
        ]
        let risks = Reviewer(input(items, slots: 4, freeSlots: 0)).review().risks
        #expect(risks.map(\.branches) == [["drover/p/auth", "drover/p/routes"], ["drover/p/docs", "drover/p/readme"]])
        let declared = risks[0]
        #expect(declared.files == ["Sources/App/*.swift", "Sources/App/Auth.swift"])
        #expect(declared.reason.hasPrefix("both change or may change Sources/App/*.swift, Sources/App/Auth.swift"), "\(declared.reason)")
        #expect(risks[1].files == ["README.md"])
        #expect(risks[1].reason.hasPrefix("both change README.md"), "changed by both: no longer a guess")

        // Another plan's branches are in another repository, or another integration: not compared.
        var other = item("elsewhere", .running, declared: ["Tests/**"])
        other.plan = "q"
        other.branch = "drover/q/elsewhere"
        #expect(Reviewer(input([items[4], other], slots: 4, freeSlots: 0)).review().risks.isEmpty)
    }

    func input(_ items: [ReviewInput.Item], slots: Int, freeSlots: Int, inbox: [InboxItem] = []) -> ReviewInput {
        ReviewInput(
            now: Self.now,
            plans: [.init(id: "p", title: "P", state: .running, paused: false)],
            items: items,
            slots: slots,
            freeSlots: freeSlots,
            inbox: inbox
        )
    }

    /// Four TODOs done in 10, 20, 30 and 40 s: P50 20 s, P90 40 s. Left: `e` (running 5 s) → `f` → `g`, and `h`
    /// alone. The critical path e-f-g takes 15 + 20 + 20 = 55 s at P50 and 35 + 40 + 40 = 115 s at P90; four slots
    /// would get through the 75 s of P50 work in 18.75 s, so the path sets the ETA.
    @Test func etaCriticalPathAndBottlenecksMatchAHandCalculation() throws {
        let items = [
            item("a", .done, seconds: 10, startedAgo: 200, files: ["src/x.swift"]),
            item("b", .done, seconds: 20, startedAgo: 150, files: ["src/x.swift", "README.md"]),
            item("c", .done, seconds: 30, startedAgo: 120),
            item("d", .done, seconds: 40, startedAgo: 100),
            item("e", .running, startedAgo: 5),
            item("f", .pending, after: ["e"]),
            item("g", .pending, after: ["f"]),
            item("h", .ready),
            item("i", .failed, repairs: 3),
            item("j", .skipped, after: ["i"]),
        ]
        let question = InboxItem(id: "w1-q1", plan: "p", todo: "e", worker: "w1", kind: .approval, text: "rm -rf build", askedAt: 1)
        let review = Reviewer(input(items, slots: 4, freeSlots: 3, inbox: [question])).review()

        let eta = try #require(review.eta)
        #expect(eta.sampleP50 == 20)
        #expect(eta.sampleP90 == 40)
        #expect(eta.criticalPath == ["p/e", "p/f", "p/g"])
        #expect(eta.criticalPathSeconds == 55)
        #expect(eta.capacitySeconds == 18.75)
        #expect(eta.p50Seconds == 55)
        #expect(eta.p90Seconds == 115)
        #expect(eta.bound == "critical_path")
        #expect(eta.remaining == 4)
        #expect(eta.p50At == Self.now + 55_000)

        #expect(review.progress == ReviewBody.Progress(total: 10, done: 4, running: 1, queued: 3, stopped: 2, waitingOnHuman: 1))
        // Four done in the 200 s since the first start: 72 an hour.
        #expect(review.velocity == ReviewBody.Velocity(finished: 4, windowSeconds: 200, perHour: 72))

        let top = try #require(review.bottlenecks.first { $0.kind == "blocking" })
        #expect(top.todo == "p/e")
        #expect(top.value == 2)
        #expect(top.reason.contains("waits for a human"))
        #expect(review.bottlenecks.first { $0.kind == "most_repaired" }?.todo == "p/i")
        #expect(review.bottlenecks.first { $0.kind == "long_running" }?.todo == "p/e")

        #expect(
            review.risks == [
                ReviewBody.Risk(branches: ["drover/p/a", "drover/p/b"], files: ["src/x.swift"], reason: review.risks.first?.reason ?? "")
            ]
        )
        #expect(review.nextSteps.map(\.rank) == [1, 2, 3])
        #expect(review.nextSteps[0].action == "answer approval w1-q1 from p/e")
        #expect(review.nextSteps[0].command?.hasPrefix("drover approve w1-q1") == true)
        #expect(review.nextSteps[1].action == "look into p/i and retry it")
        #expect(review.nextSteps[2].action.hasPrefix("merge drover/p/a before drover/p/b"))
    }

    /// Eight independent TODOs of 60 s on two slots take 240 s, longer than any path: capacity sets the ETA.
    @Test func withTooFewSlotsCapacitySetsTheEta() throws {
        let items = [item("done", .done, seconds: 60, startedAgo: 100)] + (1...8).map { item("t\($0)", .ready) }
        let review = Reviewer(input(items, slots: 2, freeSlots: 0)).review()
        let eta = try #require(review.eta)
        #expect(eta.criticalPathSeconds == 60)
        #expect(eta.p50Seconds == 240)
        #expect(eta.bound == "capacity")
        #expect(review.nextSteps.first?.action == "add workers")
    }

    @Test func withoutFinishedTodosThereIsNoEtaAndTheNoteSaysWhy() {
        let review = Reviewer(input([item("a", .ready)], slots: 0, freeSlots: 0)).review()
        #expect(review.eta == nil)
        #expect(review.etaNote?.contains("no TODO has finished yet") == true)
        #expect(review.nextSteps.first?.action == "start a worker")
        let finished = Reviewer(input([item("a", .done, seconds: 1, startedAgo: 2)], slots: 1, freeSlots: 1)).review()
        #expect(finished.eta == nil)
        #expect(finished.etaNote == "nothing is left to do")
        #expect(finished.nextSteps.first?.action == "review and merge the branches")
    }

    @Test func aLongChainIsWalkedWithoutRecursion() throws {
        let chain = (0..<20_000).map { item("c\($0)", .pending, after: $0 == 0 ? [] : ["c\($0 - 1)"]) }
        let review = Reviewer(input([item("s", .done, seconds: 1, startedAgo: 5)] + chain, slots: 8, freeSlots: 8)).review()
        let eta = try #require(review.eta)
        #expect(eta.criticalPath.count == 20_000)
        #expect(eta.p50Seconds == 20_000)
    }

    @Test func percentilesAreNearestRank() {
        #expect(Reviewer.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5)
        #expect(Reviewer.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9)
        #expect(Reviewer.percentile([7], 0.9) == 7)
    }

    @Test func aJobWaitingForItsPermissionsComesFirstAndAFailedJobIsNamed() {
        var review = input([item("a", .running)], slots: 1, freeSlots: 0)
        review.inbox = [
            InboxItem(id: "w1-q1", plan: "p", todo: "a", worker: "w1", kind: .question, text: "which one?", askedAt: 0),
            InboxItem(
                id: "j1-permissions-1",
                plan: "j1",
                todo: "",
                worker: "",
                kind: .permissions,
                text: "needs network",
                askedAt: 0,
                job: "j1",
                grants: [PermissionGrant(id: "network", description: "reach the network", todos: ["fetch"])]
            ),
        ]
        review.jobs = [
            JobView(
                id: "j0",
                goal: "g",
                repository: "/r",
                state: .failed,
                reason: "the plan step failed",
                createdAt: 0,
                updatedAt: Self.now
            )
        ]
        let steps = Reviewer(review).review().nextSteps
        #expect(steps.first?.action == "decide the permissions job j1 asks for")
        #expect(steps.first?.command?.contains("drover approve j1-permissions-1") == true)
        #expect(steps.first?.reason.contains("network") == true)
        #expect(steps.contains { $0.command == "drover job show j0" && $0.reason.contains("the plan step failed") })
    }
}
