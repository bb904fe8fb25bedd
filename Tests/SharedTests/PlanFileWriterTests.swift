import DroverPlans
import DroverProtocol
import Testing

/// `PlanFileWriter` writes plans that `PlanLoader` reads back to the same plan, however awkward their text.
struct PlanFileWriterTests {
    /// The plan after writing it and reading it back.
    func roundTrip(_ plan: Plan) throws -> Plan {
        let text = PlanFileWriter.yaml(plan)
        do {
            return try PlanLoader.parse(text, defaultID: "other")
        } catch {
            Issue.record("the written plan does not load: \(error)\n\(text)")
            throw error
        }
    }

    static let everyField = Plan(
        id: "release-1",
        title: "Release 1",
        repository: "git@git.example.com:team/app.git",
        base: "release/1.x",
        context: "# Context\n\n## Summary\nThe API lives in src/api.\n\n## How to test\nmake test\n",
        todos: [
            Todo(
                id: "build",
                title: "Build it",
                prompt: "Build the app.\nThen say what changed.",
                command: "make",
                dependsOn: [],
                labels: ["linux", "x86_64"],
                checks: [
                    Check(command: "make test", timeoutSeconds: 120),
                    Check(file: "out/app"),
                    Check(file: "CHANGELOG.md", pattern: "## 1\\.0"),
                ],
                risk: .medium,
                budget: Budget(wallSeconds: 3600.5, turns: 20, tokens: 2_000_000, cost: 2.5),
                timeoutSeconds: 600,
                maxAttempts: 2,
                permissions: Permissions(sandbox: "workspace-write", network: false, writable: ["../cache", "/tmp/x y"]),
                files: ["src/*.swift", "Package.swift"],
                estimateMinutes: 12.5
            ),
            Todo(
                id: "ship",
                prompt: "Ship",
                dependsOn: ["build"],
                risk: .critical,
                budget: Budget(),
                permissions: Permissions(),
                files: [],
                estimateMinutes: 0.25
            ),
        ]
    )

    @Test func everyFieldRoundTrips() throws {
        #expect(try roundTrip(Self.everyField) == Self.everyField)
    }

    @Test func theWrittenFileIsReadable() {
        let text = PlanFileWriter.yaml(Self.everyField)
        #expect(text.contains("id: release-1\n"))
        #expect(text.contains("base: release/1.x\n"))
        #expect(text.contains("context: |\n  # Context\n"))
        #expect(text.contains("  - id: build\n    title: Build it\n"))
        #expect(text.contains("    labels: [linux, x86_64]\n"))
        #expect(text.contains("    files: [\"src/*.swift\", Package.swift]\n"))
        #expect(text.contains("    estimate_minutes: 0.25\n"))
        #expect(text.contains("      - command: make test\n        timeout: 120\n"))
    }

    static let awkward: [String] = [
        "say \"hi\"", "it's", "key: value", "a # not a comment", "#hash first", "  leading spaces", "trailing  ", "\ttab first",
        "line one\nline two", "ends with a newline\n", "two newlines at the end\n\n", "\n starts with a newline", "  indented\n  block\n",
        "first\n  second indented\n\nafter a blank\n", "blank middle\n   \nline", "héllo wörld ✓ 日本語 🚀", "null", "~", "true", "No", "123",
        "0x1F", "1e3", "- dash", "[bracket", "{brace}", "*star", "&anchor", "!tag", "|pipe", ">fold", "%percent", "@at", "`tick`",
        "comma, inside", "back\\slash", "carriage\r\nreturn", "bell\u{07}", "del\u{7F}", "nel\u{85}next", "line\u{2028}sep", "bom\u{FEFF}",
        "", " ", "\n", "...", "---", "a: b\n- c\n# d\n", "\"quoted\"\n'single'\n", "   \nfirst line blank",
    ]

    @Test(arguments: awkward)
    func awkwardTextRoundTripsEverywhere(text: String) throws {
        let plan = Plan(
            id: "p",
            title: text,
            repository: text,
            base: nil,
            context: text,
            todos: [
                Todo(
                    id: "t",
                    title: text,
                    prompt: text,
                    command: text,
                    labels: ["linux"],
                    checks: [Check(file: text), Check(command: text)],
                    permissions: Permissions(sandbox: "read-only", writable: [text]),
                    // A file is a path inside the repository; awkward text goes after a directory.
                    files: ["src/" + text, "x"]
                )
            ]
        )
        #expect(try roundTrip(plan) == plan, "\(PlanFileWriter.yaml(plan))")
    }

    @Test func randomTextRoundTrips() throws {
        var random = SplitMix(seed: 42)
        let alphabet = Array("ab :#-'\"\\\n\t\r{}[],&*!|>%@`?é✓🚀\u{85}\u{2028}\u{0}\u{1B}  ")
        for _ in 0..<2000 {
            let length = Int(random.next() % 24)
            let text = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            let plan = Plan(
                id: "p",
                title: "P",
                context: text,
                todos: [Todo(id: "t", prompt: text + "x", command: text, files: ["src/" + text])]
            )
            #expect(try roundTrip(plan) == plan, "\(text.debugDescription)\n\(PlanFileWriter.yaml(plan))")
        }
    }
}

/// A small seeded generator, so a failing case can be found again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
