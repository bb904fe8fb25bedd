import DroverProtocol
import Foundation
import Testing

@Suite struct StepAnswerTests {
    @Test func aClassificationIsRead() throws {
        let text = #"{"kind":"question","complexity":"low","needs_investigation":false,"summary":"asks","answer":"42"}"#
        guard case .success(.classification(let value)) = JobStep.classify.read(text) else {
            Issue.record("not read: \(JobStep.classify.read(text))")
            return
        }
        #expect(value.kind == .question)
        #expect(value.answer == "42")
    }

    @Test func aQuestionWithoutAnAnswerIsRefused() {
        let text = #"{"kind":"question","complexity":"low","needs_investigation":false,"summary":"asks","answer":null}"#
        #expect(problems(.classify, text) == ["answer: a question needs its answer"])
    }

    @Test func notJSONIsSaidPlainly() {
        #expect(problems(.classify, "Sure! Here is the plan.") == ["the answer is not a JSON object"])
        #expect(problems(.plan, "[1, 2]") == ["the answer is not a JSON object"])
    }

    @Test func aMissingOrMistypedFieldIsNamedWithItsPath() {
        #expect(
            problems(.classify, #"{"kind":"question","complexity":"low","summary":"s","answer":"a"}"#) == [
                "needs_investigation: is missing"
            ]
        )
        let plan =
            #"{"title":"t","todos":[{"id":"a","title":"A","prompt":"p","depends_on":"b","checks":["true"],"#
            + #""risk":"low","permissions":{"sandbox":"read-only","network":false,"writable":[]},"estimate_minutes":1,"files":[]}]}"#
        #expect(problems(.plan, plan) == ["todos[0].depends_on: must be a list"])
    }

    @Test func aPlanWithACycleIsRefusedByThePlanValidator() {
        let answer = PlannedWork(
            title: "t",
            todos: [
                .init(id: "a", title: "A", prompt: "do a", dependsOn: ["b"], checks: ["true"]),
                .init(id: "b", title: "B", prompt: "do b", dependsOn: ["a"], checks: ["true"]),
            ]
        )
        let found = problems(.plan, String(decoding: try! JSONEncoder().encode(answer), as: UTF8.self))
        #expect(found.count == 1)
        #expect(found.first?.contains("dependency cycle: a -> b -> a") == true)
    }

    @Test func aPlannedTodoNeedsACheckAndAPrompt() {
        let answer = PlannedWork(title: "t", todos: [.init(id: "a", title: "A", prompt: " ", checks: [])])
        let found = problems(.plan, String(decoding: try! JSONEncoder().encode(answer), as: UTF8.self))
        #expect(found.contains("todos[0].checks: TODO \"a\" needs at least one acceptance check command"))
        #expect(found.contains("todos[0].prompt: TODO \"a\" needs a prompt"))
    }

    @Test func aPlannedWorkBecomesAPlanWithCommandChecks() {
        let answer = PlannedWork(
            title: "Rate limits",
            todos: [.init(id: "limit", title: "Limit", prompt: "p", checks: ["make test"], risk: .high, files: ["Sources/*.swift"])]
        )
        let plan = answer.plan(id: "job1", repository: "/r", base: "main", context: "ctx")
        #expect(plan.id == "job1")
        #expect(plan.base == "main")
        #expect(plan.context == "ctx")
        #expect(plan.todos[0].checks == [Check(command: "make test")])
        #expect(plan.todos[0].files == ["Sources/*.swift"])
        #expect(plan.todos[0].risk == .high)
    }

    @Test func theContextDocumentHasASectionPerField() {
        let investigation = Investigation(
            summary: "A web API",
            layout: "Sources/",
            conventions: "",
            constraints: "keep the API",
            build: "swift build",
            test: "swift test",
            files: ["Sources/App.swift"],
            risks: ["slow tests"]
        )
        let document = investigation.document
        #expect(document.contains("## How to test\nswift test"))
        #expect(document.contains("## Files that matter\n- Sources/App.swift"))
        #expect(!document.contains("## Conventions"), "empty sections are left out")
    }

    /// The Responses API's strict mode wants every object closed, with all its properties required.
    @Test(arguments: AnswerStep.allCases) func schemasAreStrict(step: AnswerStep) {
        func check(_ value: JSONValue, _ path: String) {
            guard case .object(let fields) = value else { return }
            if fields["type"] == "object", case .object(let properties)? = fields["properties"] {
                #expect(fields["additionalProperties"] == false, "\(path)")
                #expect(fields["required"] == .array(properties.keys.sorted().map { .string($0) }), "\(path)")
                for (key, property) in properties { check(property, "\(path).\(key)") }
            }
            if let items = fields["items"] { check(items, "\(path)[]") }
        }
        check(step.schema, step.rawValue)
    }

    @Test func recommendationsAreReadAndChecked() throws {
        let text =
            #"{"summary":"Two TODOs merged.","tests":["test the empty password"],"deployment":[],"follow_up":["log in rate limits"]}"#
        guard case .success(.recommendations(let value)) = AnswerStep.recommend.read(text) else {
            Issue.record("not read: \(AnswerStep.recommend.read(text))")
            return
        }
        #expect(
            value
                == Recommendations(
                    summary: "Two TODOs merged.",
                    tests: ["test the empty password"],
                    deployment: [],
                    followUp: ["log in rate limits"]
                )
        )
        #expect(value.count == 2)
        #expect(problems(.recommend, #"{"summary":"s","tests":"one","deployment":[],"follow_up":[]}"#) == ["tests: must be a list"])
        #expect(problems(.recommend, #"{"summary":"s","tests":[],"deployment":[]}"#) == ["follow_up: is missing"])
        #expect(
            problems(.recommend, #"{"summary":" ","tests":[""],"deployment":[],"follow_up":[]}"#)
                == [
                    "summary: must say in two or three sentences what the review found",
                    "tests[0]: is empty: leave it out, or say what to do",
                ]
        )
        #expect(problems(.recommend, "no JSON here") == ["the answer is not a JSON object"])
        let schema = AnswerStep.recommend.schema
        guard case .object(let fields) = schema, case .object(let properties)? = fields["properties"] else {
            Issue.record("not an object schema")
            return
        }
        #expect(Set(properties.keys) == ["summary", "tests", "deployment", "follow_up"])
    }

    private func problems(_ step: AnswerStep, _ text: String) -> [String] {
        switch step.read(text) {
        case .success: []
        case .failure(let error): error.problems.map(\.description)
        }
    }
}

@Suite struct PermissionGrantTests {
    static let plan = Plan(
        id: "p",
        title: "p",
        todos: [
            Todo(id: "docs", prompt: "p"),
            Todo(id: "fetch", prompt: "p", permissions: Permissions(network: true)),
            Todo(id: "deploy", prompt: "p", risk: .critical, permissions: Permissions(network: true, writable: ["/srv/www"])),
            Todo(id: "migrate", prompt: "p", risk: .high, permissions: Permissions(sandbox: "danger-full-access")),
        ]
    )

    @Test func theSmallestSetIsAskedWithTheTodosThatNeedEach() {
        let grants = PermissionGrant.needed(by: Self.plan)
        #expect(grants.map(\.id) == ["network", "risk:critical", "risk:high", "sandbox:danger-full-access", "write:/srv/www"])
        #expect(grants.first { $0.id == "network" }?.todos == ["fetch", "deploy"])
        #expect(grants.first { $0.id == "write:/srv/www" }?.description.contains("/srv/www") == true)
    }

    @Test func aPlanOfOrdinaryTodosNeedsNothing() {
        #expect(PermissionGrant.needed(by: Plan(id: "p", title: "p", todos: [Todo(id: "a", prompt: "p", risk: .medium)])).isEmpty)
    }

    @Test func refusingAGrantNamesTheTodosThatNeedIt() {
        let decision = PermissionDecision(
            granted: ["risk:high", "sandbox:danger-full-access"],
            refused: ["network"],
            decidedBy: "operator"
        )
        #expect(decision.refusedTodos(in: Self.plan) == ["fetch", "deploy"])
    }
}

@Suite struct JobRequestTests {
    @Test func aStartNeedsAGoalAndARepository() {
        #expect(problem(JobRequest(action: .start, goal: "  ", repository: "/r"))?.contains("field 'goal' is empty") == true)
        #expect(problem(JobRequest(action: .start, goal: "g"))?.contains("field 'repository' is required") == true)
        #expect(problem(JobRequest(action: .start, goal: "g", repository: "/r", base: "bad..name"))?.contains("not a valid branch") == true)
        #expect(problem(JobRequest(action: .start, job: "a.b", goal: "g", repository: "/r"))?.contains("field 'job'") == true)
        #expect(problem(JobRequest(action: .start, job: "ok-1", goal: "g", repository: "/r", base: "feature/x")) == nil)
    }

    @Test func showAndCancelNameTheJob() {
        #expect(problem(JobRequest(action: .show))?.contains("field 'job' is required") == true)
        #expect(problem(JobRequest(action: .list)) == nil)
        #expect(problem(JobRequest(action: JobRequest.Action(rawValue: "explode")))?.contains("field 'action'") == true)
    }

    @Test func grantsGoWithApproval() {
        #expect(problem(AnswerBody(item: "i", decision: .deny, grants: ["network"]))?.contains("grants") == true)
        #expect(problem(AnswerBody(item: "i", decision: .approve, grants: ["network"], remember: true)) == nil)
    }

    @Test(arguments: ["main", "release/1.2", "feature-x"]) func validBranches(name: String) { #expect(GitRef.isValidBranch(name)) }

    @Test(arguments: ["", "-x", "a..b", "a b", "a~1", "x.lock", "a/", "a:b", "@"]) func invalidBranches(name: String) {
        #expect(!GitRef.isValidBranch(name))
    }

    @Test func jobEventsArePublishedUnderTheJob() {
        #expect(Event(seq: 1, ts: 0, type: .jobTransition, plan: "j1").topic == "job.j1")
    }

    private func problem(_ body: some WireBody) -> String? {
        do throws(ProtocolError) {
            try body.validate()
            return nil
        } catch {
            return error.message
        }
    }
}
