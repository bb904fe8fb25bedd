import DroverPlans
import DroverProtocol
import DroverTesting
import Foundation
import Testing

@Suite struct PlanLoaderTests {
    // MARK: - Helpers

    /// The problems `text` is refused with; records an issue when it loads.
    private func problems(
        _ text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [PlanProblem] {
        do {
            let plan = try PlanLoader.parse(text)
            Issue.record("expected the plan to be refused, got \(plan)", sourceLocation: sourceLocation)
            return []
        } catch let error as PlanError {
            return error.problems
        } catch {
            Issue.record("expected a PlanError, got \(error)", sourceLocation: sourceLocation)
            return []
        }
    }

    /// The one problem at `path`; records an issue when there is not exactly one.
    private func problem(
        at path: String,
        in problems: [PlanProblem],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> PlanProblem? {
        let matching = problems.filter { $0.path == path }
        #expect(matching.count == 1, "problems at \(path): \(problems)", sourceLocation: sourceLocation)
        return matching.first
    }

    // MARK: - Valid plans

    static let fullYAML = """
        id: release-1
        title: Release 1
        todos:
          - id: fetch
            command: git fetch
          - id: build
            title: Build it
            command: make
            prompt: "Build the app"
            depends_on: [fetch]
            labels: [linux, big-disk]
            checks:
              - command: make test
                timeout: 120
              - file: out/app
              - file: CHANGELOG.md
                pattern: "## 1\\\\.0"
            risk: high
            timeout: 600
            max_attempts: 2
            budget: { wall_seconds: 3600, turns: 20, tokens: 2000000, cost: 5.00 }
          - id: ship
            prompt: Ship it
            depends_on: build
        """

    @Test func loadsEveryFieldFromYAML() throws {
        let plan = try PlanLoader.parse(Self.fullYAML)
        #expect(plan.id == "release-1")
        #expect(plan.title == "Release 1")
        try #require(plan.todos.count == 3)

        let fetch = plan.todos[0]
        #expect(fetch == Todo(id: "fetch", title: "fetch", command: "git fetch"))

        let build = plan.todos[1]
        #expect(build.id == "build")
        #expect(build.title == "Build it")
        #expect(build.command == "make")
        #expect(build.prompt == "Build the app")
        #expect(build.dependsOn == ["fetch"])
        #expect(build.labels == ["linux", "big-disk"])
        #expect(
            build.checks == [
                Check(command: "make test", timeoutSeconds: 120),
                Check(file: "out/app"),
                Check(file: "CHANGELOG.md", pattern: "## 1\\.0"),
            ]
        )
        #expect(build.risk == .high)
        #expect(build.timeoutSeconds == 600)
        #expect(build.maxAttempts == 2)
        #expect(build.budget == Budget(wallSeconds: 3600, turns: 20, tokens: 2_000_000, cost: 5))

        let ship = plan.todos[2]
        #expect(ship.prompt == "Ship it")
        #expect(ship.command == nil)
        #expect(ship.dependsOn == ["build"], "a single string is a list of one")
        #expect(ship.risk == .low)
        #expect(ship.maxAttempts == 1)
        #expect(ship.timeoutSeconds == nil)
        #expect(ship.budget == nil)
        #expect(ship.checks.isEmpty)
        #expect(ship.labels.isEmpty)
    }

    @Test func readsIntegrationChecksAndTheSchedule() throws {
        let plan = try PlanLoader.parse(
            """
            id: merged
            repository: /srv/app.git
            integration_checks:
              - command: make test
              - file: out/app
            schedule: { overlap: warn }
            todos:
              - { id: a, command: "true", files: ["src/*.c"] }
            """
        )
        #expect(plan.integrationChecks == [Check(command: "make test"), Check(file: "out/app")])
        #expect(plan.schedule == Schedule(overlap: .warn))
        #expect(try PlanLoader.parse(PlanFileWriter.yaml(plan)) == plan, "written back the same")
    }

    @Test func malformedIntegrationChecksFilesAndSchedulesAreNamed() {
        let found = problems(
            """
            id: bad
            integration_checks:
              - { command: make, file: out }
            schedule: { overlap: sometimes }
            todos:
              - { id: a, command: "true", files: ["/etc/passwd", "../up"] }
            """
        ).map(\.description)
        #expect(found.contains { $0.contains("integration_checks[0]: a check has either a 'command' or a 'file'") }, "\(found)")
        #expect(found.contains { $0.contains("schedule.overlap: must be serialize, warn or ignore (not \"sometimes\")") }, "\(found)")
        #expect(found.contains { $0.contains("todos[0].files[0]: must be a path or glob inside the repository") }, "\(found)")
        #expect(found.contains { $0.contains("todos[0].files[1]") }, "\(found)")
    }

    @Test func loadsEveryFieldFromJSON() throws {
        let json = """
            {
              "id": "release-1",
              "title": "Release 1",
              "todos": [
                {"id": "fetch", "command": "git fetch"},
                {
                  "id": "build", "title": "Build it", "command": "make", "prompt": "Build the app",
                  "depends_on": ["fetch"], "labels": ["linux", "big-disk"],
                  "checks": [
                    {"command": "make test", "timeout": 120},
                    {"file": "out/app"},
                    {"file": "CHANGELOG.md", "pattern": "## 1\\\\.0"}
                  ],
                  "risk": "high", "timeout": 600, "max_attempts": 2,
                  "budget": {"wall_seconds": 3600, "turns": 20, "tokens": 2000000, "cost": 5.00}
                },
                {"id": "ship", "prompt": "Ship it", "depends_on": "build"}
              ]
            }
            """
        let fromJSON = try PlanLoader.parse(json)
        let fromYAML = try PlanLoader.parse(Self.fullYAML)
        #expect(fromJSON == fromYAML)
        #expect(fromJSON.todos[1].checks[2].pattern == "## 1\\.0")
    }

    @Test func planIDAndTitleDefault() throws {
        let plan = try PlanLoader.parse("todos:\n  - id: a\n    command: 'true'\n", defaultID: "nightly")
        #expect(plan.id == "nightly")
        #expect(plan.title == "nightly")
        #expect(plan.todos[0].title == "a")
    }

    @Test func fractionalTimeoutIsAccepted() throws {
        let plan = try PlanLoader.parse("todos:\n  - id: a\n    command: x\n    timeout: 1.5\n")
        #expect(plan.todos[0].timeoutSeconds == 1.5)
    }

    // MARK: - Meaning

    @Test func aCostCapThatIsNegativeOrNotANumberIsRefusedNamingItsTodo() throws {
        let found = problems(
            """
            todos:
              - { id: cheap, prompt: x, budget: { cost: -1 } }
              - { id: wordy, prompt: x, budget: { cost: five dollars } }
              - { id: fine, prompt: x, budget: { cost: 0.5 } }
            """
        )
        #expect(found.count == 2, "\(found)")
        let negative = try #require(problem(at: "todos[0].budget.cost", in: found))
        #expect(negative.message.contains("TODO \"cheap\": the cost cap must be a number of US dollars, 0 or more"), "\(negative.message)")
        let text = try #require(problem(at: "todos[1].budget.cost", in: found))
        #expect(text.message.contains("TODO \"wordy\": the cost cap must be a number of US dollars"), "\(text.message)")
        #expect(text.message.contains("five dollars"), "\(text.message)")
    }

    @Test func dependencyCycleNamesItsMembersInOrder() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                depends_on: b
              - id: b
                command: x
                depends_on: c
              - id: c
                command: x
                depends_on: a
            """
        )
        let cycle = try #require(problem(at: "todos[0].depends_on", in: found))
        #expect(cycle.message.contains("a -> b -> c -> a"), "\(cycle.message)")
        #expect(cycle.line == 4)
        #expect(found.count == 1, "\(found)")
    }

    @Test func cycleNotThroughTheFirstTodoIsReportedOnce() throws {
        let found = problems(
            """
            todos:
              - id: start
                command: x
                depends_on: [p]
              - id: p
                command: x
                depends_on: [q]
              - id: q
                command: x
                depends_on: [p]
            """
        )
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.contains("p -> q -> p"), "\(found[0].message)")
        #expect(found[0].path == "todos[1].depends_on")
    }

    @Test func unknownDependencyNamesItAndItsPath() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
              - id: b
                command: x
                depends_on: [nope]
            """
        )
        let unknown = try #require(problem(at: "todos[1].depends_on[0]", in: found))
        #expect(unknown.message.contains("unknown dependency"))
        #expect(unknown.message.contains("\"nope\""))
        #expect(unknown.line == 6)
        #expect(found.count == 1, "\(found)")
    }

    @Test func duplicateID() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
              - id: a
                command: y
            """
        )
        let duplicate = try #require(problem(at: "todos[1].id", in: found))
        #expect(duplicate.message.contains("duplicate id \"a\""))
        #expect(duplicate.message.contains("todos[0]"))
        #expect(duplicate.line == 4)
    }

    @Test func selfDependency() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                depends_on: [a]
            """
        )
        let selfDependency = try #require(problem(at: "todos[0].depends_on[0]", in: found))
        #expect(selfDependency.message.contains("depends on itself"))
        #expect(found.count == 1, "a self-dependency is not also reported as a cycle: \(found)")
    }

    @Test func missingTodoID() throws {
        let found = problems(
            """
            todos:
              - command: x
            """
        )
        let missing = try #require(problem(at: "todos[0].id", in: found))
        #expect(missing.message.contains("required"))
    }

    @Test func todoWithNeitherCommandNorPrompt() throws {
        let found = problems(
            """
            todos:
              - id: a
                title: nothing to do
            """
        )
        let empty = try #require(problem(at: "todos[0]", in: found))
        #expect(empty.message.contains("'command' or a 'prompt'"))
        #expect(empty.line == 2)
    }

    @Test func unknownFieldWithHint() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                depends_no: [b]
            """
        )
        let unknown = try #require(problem(at: "todos[0].depends_no", in: found))
        #expect(unknown.message.contains("unknown field 'depends_no'"))
        #expect(unknown.message.contains("did you mean 'depends_on'?"))
        #expect(unknown.line == 4)
        #expect(unknown.column == 5)
    }

    @Test func unknownFieldWithoutCloseMatchHasNoHint() throws {
        let found = problems("todos:\n  - id: a\n    command: x\n    colour: blue\n")
        let unknown = try #require(problem(at: "todos[0].colour", in: found))
        #expect(!unknown.message.contains("did you mean"))
    }

    @Test func unknownTopLevelField() throws {
        let found = problems("tittle: x\ntodos:\n  - id: a\n    command: x\n")
        let unknown = try #require(problem(at: "tittle", in: found))
        #expect(unknown.message.contains("did you mean 'title'?"))
        #expect(unknown.line == 1)
    }

    @Test func badRisk() throws {
        let found = problems("todos:\n  - id: a\n    command: x\n    risk: extreme\n")
        let risk = try #require(problem(at: "todos[0].risk", in: found))
        #expect(risk.message.contains("low, medium, high, critical"))
        #expect(risk.message.contains("extreme"))
        #expect(risk.line == 4)
    }

    @Test func nonNumberTimeout() throws {
        let found = problems("todos:\n  - id: a\n    command: x\n    timeout: soon\n")
        let timeout = try #require(problem(at: "todos[0].timeout", in: found))
        #expect(timeout.message.contains("must be a number"))
        #expect(timeout.line == 4)
    }

    @Test(arguments: [".inf", "1e300"]) func unboundedTimeoutIsRefused(value: String) {
        // An infinite timeout cannot be encoded as JSON (`WireCodec.frames` traps on it), and a huge one traps in the
        // worker when it is turned into whole milliseconds.
        let found = problems(
            "todos:\n  - id: a\n    command: x\n    timeout: \(value)\n    checks:\n      - command: x\n        timeout: \(value)\n"
        )
        #expect(problem(at: "todos[0].timeout", in: found) != nil)
        #expect(problem(at: "todos[0].checks[0].timeout", in: found) != nil)
    }

    @Test func outOfRangeNumbers() {
        let found = problems("todos:\n  - id: a\n    command: x\n    timeout: 0\n    max_attempts: 0\n")
        #expect(problem(at: "todos[0].timeout", in: found)?.message.contains("positive") == true)
        #expect(problem(at: "todos[0].max_attempts", in: found)?.message.contains("between 1 and 100") == true)
    }

    @Test(arguments: ["a.b", "-a", "", "a b"]) func invalidTodoID(id: String) throws {
        let found = problems("todos:\n  - id: \"\(id)\"\n    command: x\n")
        let invalid = try #require(problem(at: "todos[0].id", in: found))
        #expect(invalid.message.hasPrefix("TODO id"))
        #expect(invalid.line == 2)
    }

    @Test func invalidPlanIDAndLabel() {
        let found = problems("id: my.plan\ntodos:\n  - id: a\n    command: x\n    labels: [ok, not.ok]\n")
        #expect(problem(at: "id", in: found)?.message.contains("plan id \"my.plan\"") == true)
        #expect(problem(at: "todos[0].labels[1]", in: found)?.message.contains("label \"not.ok\"") == true)
    }

    @Test func checkWithBothCommandAndFile() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                checks:
                  - command: test -f out
                    file: out
            """
        )
        let check = try #require(problem(at: "todos[0].checks[0]", in: found))
        #expect(check.message.contains("either a 'command' or a 'file'"))
        #expect(check.line == 5)
    }

    @Test func checkWithNeitherCommandNorFile() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                checks:
                  - timeout: 5
            """
        )
        let check = try #require(problem(at: "todos[0].checks[0]", in: found))
        #expect(check.message.contains("either a 'command' or a 'file'"))
    }

    @Test func patternWithoutFile() {
        let found = problems("todos:\n  - id: a\n    command: x\n    checks:\n      - command: y\n        pattern: z\n")
        #expect(problem(at: "todos[0].checks[0].pattern", in: found)?.message.contains("needs a 'file'") == true)
    }

    @Test func invalidRegexPattern() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
                checks:
                  - file: out.txt
                    pattern: "([a-z"
            """
        )
        let pattern = try #require(problem(at: "todos[0].checks[0].pattern", in: found))
        #expect(pattern.message.contains("not a valid regular expression"))
        #expect(pattern.line == 6)
        #expect(found.count == 1, "\(found)")
    }

    // MARK: - Syntax and shape

    @Test func yamlSyntaxErrorHasALineNumber() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
              - id: [b
                command: y
            """
        )
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.hasPrefix("not valid YAML or JSON"))
        let line = try #require(found[0].line)
        #expect((4...5).contains(line), "line \(line)")
    }

    @Test func badIndentationIsReportedOnItsLine() throws {
        let found = problems("todos:\n  - id: a\n    command: x\n   bad: indent\n")
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.hasPrefix("not valid YAML or JSON"))
        #expect(found[0].line == 4)
    }

    @Test func jsonSyntaxErrorHasALineNumber() throws {
        let found = problems("{\n  \"todos\": [\n    {\"id\": \"a\", \"command\": \"x\"},,\n  ]\n}\n")
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.hasPrefix("not valid YAML or JSON"))
        #expect(found[0].line == 3)
    }

    @Test func duplicateKeyHasALineNumber() throws {
        let found = problems(
            """
            todos:
              - id: a
                command: x
              - id: b
                command: y
                command: z
            """
        )
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.contains("duplicate key 'command'"), "\(found[0].message)")
        #expect(found[0].line == 5, "the line of the key's first use")
    }

    @Test func undefinedAliasHasALineNumber() throws {
        let found = problems("todos:\n  - id: a\n    command: *nowhere\n")
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.hasPrefix("not valid YAML or JSON"))
        #expect(found[0].line == 3)
    }

    @Test(arguments: ["", "   \n", "# only a comment\n"]) func emptyDocument(text: String) throws {
        let found = problems(text)
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.contains("empty"))
    }

    @Test func todosMissing() throws {
        let found = problems("id: p\ntitle: nothing\n")
        let missing = try #require(problem(at: "todos", in: found))
        #expect(missing.message.contains("is required"))
    }

    @Test func todosNotAList() throws {
        let found = problems("todos: build\n")
        let notList = try #require(problem(at: "todos", in: found))
        #expect(notList.message.contains("must be a list"))
    }

    @Test func emptyTodoList() throws {
        let found = problems("todos: []\n")
        let empty = try #require(problem(at: "todos", in: found))
        #expect(empty.message.contains("at least one TODO"))
    }

    @Test func documentNotAMapping() throws {
        let found = problems("- a\n- b\n")
        try #require(found.count == 1, "\(found)")
        #expect(found[0].message.contains("must be a mapping"))
    }

    // MARK: - Every problem at once

    @Test func reportsEveryProblemWithItsLine() throws {
        let text = """
            id: multi
            todos:
              - id: a
                command: x
                risk: huge
              - id: b
                comand: y
              - id: c
                command: z
                depends_on: [missing]
                timeout: later
              - id: a
                prompt: again
            """
        let found = problems(text)
        let byPath = Dictionary(found.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })

        let risk = try #require(byPath["todos[0].risk"])
        #expect(risk.line == 5)
        let unknown = try #require(byPath["todos[1].comand"])
        #expect(unknown.message.contains("did you mean 'command'?"))
        #expect(unknown.line == 7)
        let timeout = try #require(byPath["todos[2].timeout"])
        #expect(timeout.line == 11)
        let duplicate = try #require(byPath["todos[3].id"])
        #expect(duplicate.message.contains("duplicate"))
        #expect(duplicate.line == 12)
        let dependency = try #require(byPath["todos[2].depends_on[0]"])
        #expect(dependency.line == 10)
        // The misspelt field leaves "b" with neither command nor prompt.
        let empty = try #require(byPath["todos[1]"])
        #expect(empty.line == 6)
        #expect(found.count == 6, "\(found)")
        let foundLines = found.compactMap(\.line)
        #expect(foundLines.count == found.count, "every problem has a line")
        #expect(foundLines == foundLines.sorted(), "problems come in file order")

        // The lines the problems name hold what they are about.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[risk.line! - 1].contains("risk: huge"))
        #expect(lines[unknown.line! - 1].contains("comand"))
        #expect(lines[timeout.line! - 1].contains("timeout: later"))
        #expect(lines[dependency.line! - 1].contains("missing"))
    }

    @Test func errorDescriptionIsCompilerStyle() throws {
        let error = try #require(
            throws: PlanError.self,
            performing: { try PlanLoader.parse("todos:\n  - id: a\n    command: x\n    depends_on: [zz]\n") }
        )
        #expect(error.file == nil)
        #expect(error.description.hasPrefix("line 4:"), "\(error.description)")
        #expect(error.description.contains("todos[0].depends_on[0]: unknown dependency \"zz\""))
    }

    // MARK: - Files

    @Test func loadMissingFile() throws {
        let path = FileManager.default.temporaryDirectory.path + "/drover-missing-\(UUID().uuidString).yaml"
        let error = try #require(throws: PlanError.self, performing: { try PlanLoader.load(path: path) })
        #expect(error.file == path)
        try #require(error.problems.count == 1)
        #expect(error.problems[0].message.contains("cannot read the file"))
    }

    @Test func loadFileTakesItsIDFromTheFileName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/nightly-build.yaml"
        try "todos:\n  - id: a\n    command: 'true'\n".write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try PlanLoader.load(path: path)
        #expect(plan.id == "nightly-build")
        #expect(plan.todos.map(\.id) == ["a"])
    }

    @Test func loadFileReportsTheFileInProblems() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/broken.json"
        try #"{"todos": [{"id": "a"}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: PlanError.self, performing: { try PlanLoader.load(path: path) })
        #expect(error.file == path)
        #expect(error.description.hasPrefix("\(path):1:"), "\(error.description)")
    }

    @Test func permissionsAreReadAndChecked() throws {
        let plan = try PlanLoader.parse(
            "todos:\n  - id: a\n    prompt: x\n    permissions: { sandbox: read-only, network: true, writable: [cache, /tmp/out] }\n"
        )
        #expect(plan.todos[0].permissions == Permissions(sandbox: "read-only", network: true, writable: ["cache", "/tmp/out"]))
        let found = problems("todos:\n  - id: a\n    prompt: x\n    permissions: { sandbox: wide-open, network: maybe }\n")
        #expect(problem(at: "todos[0].permissions.sandbox", in: found)?.message.contains("must be one of read-only") == true)
        #expect(problem(at: "todos[0].permissions.network", in: found)?.message == "must be true or false")
    }

    // MARK: - The fields jobs add

    @Test func readsBaseContextFilesAndEstimate() throws {
        let plan = try PlanLoader.parse(
            """
            id: job-1
            base: release/2.x
            context: |
              # Context
              Run `make test`.
            todos:
              - id: a
                prompt: do it
                files: [src/*.swift, README.md]
                estimate_minutes: 7.5
              - id: b
                command: x
                files: one/file
            """
        )
        #expect(plan.base == "release/2.x")
        #expect(plan.context == "# Context\nRun `make test`.\n")
        #expect(plan.todos[0].files == ["src/*.swift", "README.md"])
        #expect(plan.todos[0].estimateMinutes == 7.5)
        #expect(plan.todos[1].files == ["one/file"], "one path is a list of one")
        #expect(plan.todos[1].estimateMinutes == nil)
    }

    @Test func leftOutFilesAreNilAndAnEmptyListStaysEmpty() throws {
        let plan = try PlanLoader.parse("todos:\n  - id: a\n    command: x\n  - id: b\n    command: x\n    files: []\n")
        #expect(plan.todos[0].files == nil)
        #expect(plan.todos[1].files == [])
    }

    @Test func badNewFieldsAreReportedWhereTheyAre() throws {
        let found = problems(
            "base: a b\ncontext: [not, text]\ntodos:\n  - id: a\n    command: x\n    estimate_minutes: soon\n    files: {a: 1}\n"
        )
        #expect(try #require(problem(at: "base", in: found)).message.contains("not a valid branch name"))
        let context = try #require(problem(at: "context", in: found))
        #expect(context.message.contains("must be text"))
        #expect(context.line == 2)
        let estimate = try #require(problem(at: "todos[0].estimate_minutes", in: found))
        #expect(estimate.message.contains("must be a number"))
        #expect(estimate.line == 6)
        #expect(try #require(problem(at: "todos[0].files", in: found)).message.contains("must be a list of text"))
    }
}
