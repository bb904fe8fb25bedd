import DroverProtocol
import Testing

@testable import Coordinator

/// The job lifecycle's rules, without a core: which state may follow which, and the pure decisions.
@Suite struct JobDecisionsTests {
    @Test func onlyTheLifecycleMovesAreAllowed() {
        #expect(JobTable.mayMove(from: .classify, to: .investigate))
        #expect(JobTable.mayMove(from: .classify, to: .done), "a question")
        #expect(JobTable.mayMove(from: .permissionNegotiate, to: .plan), "planned again without a refused grant")
        #expect(!JobTable.mayMove(from: .classify, to: .execute))
        #expect(!JobTable.mayMove(from: .execute, to: .plan))
        #expect(JobTable.mayMove(from: .investigate, to: .failed))
        #expect(JobTable.mayMove(from: .plan, to: .cancelled))
        #expect(!JobTable.mayMove(from: .done, to: .failed), "an ended job stays ended")
        #expect(!JobTable.mayMove(from: .cancelled, to: .execute))
    }

    @Test func aMoveIsRecordedOnceAndALateOneIsIgnored() {
        var table = JobTable()
        table.add(JobRecord(id: "j", goal: "g", repository: "/r", base: nil, createdAt: 5), reason: "started")
        #expect(table.move("j", to: .plan, reason: "no investigation needed", at: 6) != nil)
        #expect(table.move("j", to: .investigate, reason: "late", at: 7) == nil)
        #expect(table["j"]?.state == .plan)
        #expect(table["j"]?.transitions.map(\.to) == [.classify, .plan])
        #expect(table["j"]?.transitions.last?.from == .classify)
        #expect(table["j"]?.reason == "no investigation needed")
    }

    @Test func theStepPlanOfAJobIsFoundUntilTheJobMovesOn() {
        var table = JobTable()
        table.add(JobRecord(id: "j-1", goal: "g", repository: "/r", base: nil, createdAt: 0), reason: "started")
        table.update("j-1") { $0.stepPlan = "j-1-classify" }
        #expect(table.step(runningAs: "j-1-classify")?.step == .classify)
        #expect(table.step(runningAs: "j-1") == nil)
        table.move("j-1", to: .cancelled, reason: "cancelled", at: 1)
        #expect(table.step(runningAs: "j-1-classify") == nil)
    }

    @Test func classificationDecidesTheNextStep() {
        func next(_ kind: Classification.Kind, investigate: Bool) -> JobState {
            JobDecisions.next(
                after: Classification(kind: kind, complexity: "low", needsInvestigation: investigate, summary: "s", answer: "a")
            ).state
        }
        #expect(next(.question, investigate: true) == .done)
        #expect(next(.oneFileChange, investigate: false) == .plan)
        #expect(next(.oneFileChange, investigate: true) == .investigate)
        #expect(next(.multiFileChange, investigate: false) == .investigate)
        #expect(next(.commands, investigate: false) == .plan)
    }

    static let grants = [
        PermissionGrant(id: "network", description: "", todos: ["a"]),
        PermissionGrant(id: "risk:high", description: "", todos: ["b"]),
    ]

    @Test func rememberedGrantsAreNotAskedAgain() {
        #expect(JobDecisions.negotiate([], remembered: { _ in nil }) == .noneNeeded)
        let all = JobDecisions.negotiate(Self.grants, remembered: { $0 == "network" ? .deny : .approve })
        #expect(all == .remembered(PermissionDecision(granted: ["risk:high"], refused: ["network"], decidedBy: "policy")))
        let some = JobDecisions.negotiate(Self.grants, remembered: { $0 == "network" ? .approve : nil })
        #expect(some == .ask([Self.grants[1]], remembered: ["network": .approve]))
    }

    @Test func anAnswerIsMergedWithWhatWasRemembered() throws {
        let decision = try JobDecisions.decision(
            AnswerBody(item: "i", decision: .approve, grants: [], remember: true),
            asked: [Self.grants[1]],
            remembered: ["network": .approve]
        )
        #expect(decision.granted == ["network"])
        #expect(decision.refused == ["risk:high"])
        #expect(decision.remember)
        let denied = try JobDecisions.decision(AnswerBody(item: "i", decision: .deny), asked: Self.grants, remembered: [:])
        #expect(denied.granted.isEmpty && denied.refused == ["network", "risk:high"])
    }

    @Test func skippingFollowsDependencies() {
        let plan = Plan(
            id: "p",
            title: "p",
            todos: [
                Todo(id: "fetch", prompt: "p", permissions: Permissions(network: true)),
                Todo(id: "use", prompt: "p", dependsOn: ["fetch"]),
                Todo(id: "later", prompt: "p", dependsOn: ["use"]),
                Todo(id: "free", prompt: "p"),
            ]
        )
        let decision = PermissionDecision(granted: [], refused: ["network"], decidedBy: "operator")
        #expect(JobDecisions.skipped(in: plan, by: decision) == ["fetch", "use", "later"])
    }

    @Test func aJobEndsAsItsPlanDid() {
        #expect(
            JobDecisions.ending(states: ["a": .done, "b": .skipped], skippedByPermissions: ["b"])
                == .done("all 1 TODOs done; 1 skipped for refused permissions")
        )
        if case .waiting(let reason) = JobDecisions.ending(states: ["a": .escalated, "b": .done], skippedByPermissions: []) {
            #expect(reason.contains("a") && reason.contains("drover todo retry"))
        } else {
            Issue.record("an escalated TODO should make the job wait")
        }
        #expect(
            JobDecisions.ending(states: ["a": .failed, "b": .skipped], skippedByPermissions: [])
                == .failed("0 of 2 TODOs done; a failed, b skipped")
        )
    }
}
