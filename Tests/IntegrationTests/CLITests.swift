import Foundation
import Testing
import Worker

/// The command line as users meet it: bad plans and bad flags get messages that say what is wrong and where.
@Suite(.timeLimit(.minutes(1)))
struct CLITests {
    /// Runs `drover` with `arguments` in a temp directory holding `files`; returns its exit status and output.
    func drover(_ arguments: [String], files: [String: String] = [:]) async throws -> (Int32, String) {
        let directory = "/tmp/drover-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text) in files { try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8) }
        let process = try TestProcess(name: "drover", arguments: arguments, directory: directory)
        let status = try await process.wait(timeout: .seconds(30))
        return (status, process.output)
    }

    @Test func validPlanIsReportedValid() async throws {
        let (status, output) = try await drover(
            ["plan", "validate", "ok.yaml"],
            files: ["ok.yaml": "todos:\n  - id: a\n    command: 'true'\n  - id: b\n    command: 'true'\n    depends_on: a\n"]
        )
        #expect(status == 0)
        #expect(output.contains("plan ok is valid: 2 TODOs"))
    }

    @Test func everyProblemOfABadPlanIsReportedWithItsPlace() async throws {
        let plan = """
            id: broken
            todos:
              - id: a
                command: make
                depends_on: [c]
              - id: b
                command: make
                depends_on: [ghost]
              - id: c
                command: make
                depends_on: [a]
              - id: b
                prompt: again
                risk: extreme
                depnds_on: [a]
            """
        let (status, output) = try await drover(["plan", "validate", "plan.yaml"], files: ["plan.yaml": plan])
        #expect(status == 1)
        #expect(output.contains("dependency cycle: a -> c -> a"))
        #expect(output.contains("plan.yaml:8:18: todos[1].depends_on[0]: unknown dependency \"ghost\""))
        #expect(output.contains("duplicate id \"b\""))
        #expect(output.contains("todos[3].risk: must be one of low, medium, high, critical"))
        #expect(output.contains("unknown field 'depnds_on' (did you mean 'depends_on'?)"))
        #expect(output.contains("problems found"))
    }

    @Test func jsonOutputListsProblemsForScripts() async throws {
        let (status, output) = try await drover(
            ["plan", "validate", "--json", "p.json"],
            files: ["p.json": #"{"todos": [{"id": "x.y", "command": "true"}]}"#]
        )
        #expect(status == 1)
        let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(result?["valid"] as? Bool == false)
        let problems = result?["problems"] as? [[String: Any]]
        #expect(problems?.first?["path"] as? String == "todos[0].id")
    }

    @Test(arguments: [
        ("not: [valid", "not valid YAML or JSON"),
        ("", "the file is empty"),
        ("title: no todos", "todos: is required"),
        ("todos: {a: 1}", "todos: must be a list of TODOs"),
    ])
    func malformedPlanFilesGetClearErrors(text: String, message: String) async throws {
        let (status, output) = try await drover(["plan", "validate", "p.yaml"], files: ["p.yaml": text])
        #expect(status == 1)
        #expect(output.contains(message), "\(output)")
    }

    @Test func missingPlanFileIsNamed() async throws {
        let (status, output) = try await drover(["plan", "validate", "nowhere.yaml"])
        #expect(status == 1)
        #expect(output.contains("nowhere.yaml: cannot read the file"))
    }

    @Test func badFlagsAreRefusedWithTheReason() async throws {
        let (status, output) = try await drover(["worker", "--id", "has.dot"])
        #expect(status != 0)
        #expect(output.contains("--id"))
        let (ttlStatus, ttlOutput) = try await drover(["coordinator", "--heartbeat-ms", "500", "--lease-ttl-ms", "100"])
        #expect(ttlStatus != 0)
        #expect(ttlOutput.contains("--lease-ttl-ms"))
        for (arguments, named) in [
            (["coordinator", "--http", "localhost"], "--http localhost must be HOST:PORT"),
            (["run", "plan.yaml", "--http", "127.0.0.1:99999"], "--http 127.0.0.1:99999 must be HOST:PORT"),
            (["coordinator", "--inbox-timeout", "-1"], "--inbox-timeout"),
            (["coordinator", "--inbox-default-approval", "maybe"], "--inbox-default-approval must be approve or deny"),
            (["review", "--format", "html"], "html"),
            (["watch", "--interval", "0"], "--interval must be at least 0.1 seconds"),
            (["run", "plan.yaml", "--ai"], "--ai needs --agent codex"),
            (["run", "plan.yaml", "--ai", "--agent", "codex", "--ai-timeout", "0"], "--ai-timeout must be a positive number"),
            (["plan", "report", "p", "--ai", "--timeout", "0"], "--timeout must be a positive number of seconds"),
            (["steer", "p/t", "  "], "say something: the guidance is empty"),
            (["steer", "p/t", String(repeating: "x", count: 16385)], "the guidance is 16385 bytes: at most 16384 (16 KiB)"),
            (["steer", "p", "hello"], "give the TODO as PLAN/TODO"),
            (["todo", "pause", "p.t"], "give the TODO as PLAN/TODO"),
            (["coordinator", "--price", "gpt-5.5"], "--price gpt-5.5 is not MODEL=INPUT,CACHED,OUTPUT"),
            (["run", "plan.yaml", "--price", "m=1,2"], "the prices must be three numbers of dollars per million tokens"),
            (["coordinator", "--advisor-limit", "0"], "--advisor-limit must be between 1 and 20"),
            (["run", "plan.yaml", "--advisor-model-base-url", "ftp://x"], "--advisor-model-base-url must be an http or https URL"),
            (["worker", "--checkpoint-interval=-1"], "--checkpoint-interval must be 0 (off) or a positive number of seconds"),
        ] {
            let (status, output) = try await drover(arguments)
            #expect(status != 0, "\(arguments)")
            #expect(output.contains(named), "\(arguments): \(output)")
        }
    }

    @Test func anAIReviewWithNoCoordinatorSaysWhatItNeeds() async throws {
        let (status, output) = try await drover(["plan", "report", "p", "--ai", "--control", "tcp://127.0.0.1:1"])
        #expect(status != 0)
        #expect(output.contains("no coordinator answered at tcp://127.0.0.1:1: --ai needs a running coordinator"), "\(output)")
    }

    @Test func statusWithNoCoordinatorSaysHowToStartOne() async throws {
        let (status, output) = try await drover(["status", "--control", "tcp://127.0.0.1:1"])
        #expect(status != 0)
        #expect(output.contains("drover coordinator"))
    }

    @Test func doctorSaysWhatIsMissingAndHowToFixIt() async throws {
        let (status, output) = try await drover(["doctor", "--codex", "/nonexistent/codex"])
        #expect(status == 1)
        #expect(output.contains("ok   libzmq: ZeroMQ"))
        #expect(output.contains("FAIL codex"))
        #expect(output.contains("fix: pip install --force-reinstall openai-codex-cli-bin"))
        let (_, json) = try await drover(["doctor", "--json"])
        let findings = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(findings?.contains { $0["check"] as? String == "git" && $0["ok"] as? Bool == true } == true)
    }

    /// A stand-in that only prints a release, as `codex --version` does: doctor reads nothing else from it.
    func fakeCodex(printing version: String) throws -> String {
        let path = "/tmp/drover-fake-codex-\(UUID().uuidString.prefix(8))"
        try "#!/bin/sh\necho '\(version)'\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// The `codex version` finding of `drover doctor --json`.
    func versionFinding(_ json: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        let findings = try #require(parsed, "\(json)")
        return try #require(findings.first { $0["check"] as? String == "codex version" }, "\(json)")
    }

    @Test func doctorFailsACodexOlderThanTheSupportedRangeAndSaysHowToInstallOne() async throws {
        let codex = try fakeCodex(printing: "codex-cli 0.100.0")
        defer { try? FileManager.default.removeItem(atPath: codex) }
        let (status, output) = try await drover(["doctor", "--codex", codex])
        #expect(status == 1)
        #expect(output.contains("ok   codex: codex-cli 0.100.0 at \(codex)"), "\(output)")
        #expect(
            output.contains(
                "FAIL codex version: 0.100.0 is older than Drover supports: 0.147.0 or later (tested with 0.147.0 and 0.163.0)"
            ),
            "\(output)"
        )
        #expect(output.contains("fix: pip install --upgrade 'openai-codex-cli-bin>=0.147.0', or set DROVER_CODEX to a supported codex"))
        let finding = try versionFinding(try await drover(["doctor", "--codex", codex, "--json"]).1)
        #expect(finding["ok"] as? Bool == false)
        #expect(finding["version"] as? String == "0.100.0")
        #expect(finding["supported"] as? Bool == false)
        #expect(finding["supportedRange"] as? String == "0.147.0 or later")

        let garbled = try fakeCodex(printing: "codex-cli dev build")
        defer { try? FileManager.default.removeItem(atPath: garbled) }
        let (garbledStatus, garbledOutput) = try await drover(["doctor", "--codex", garbled])
        #expect(garbledStatus == 1)
        #expect(
            garbledOutput.contains("FAIL codex version: no release number in `codex --version`'s output \"codex-cli dev build\""),
            "\(garbledOutput)"
        )
    }

    @Test(.enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
    func doctorReportsTheInstalledCodexReleaseAsSupported() async throws {
        let codex = try #require(CodexConfiguration.findExecutable())
        let (_, output) = try await drover(["doctor", "--codex", codex])
        #expect(output.contains("ok   codex version: 0."), "\(output)")
        #expect(output.contains(", supported: 0.147.0 or later"), "\(output)")
        let finding = try versionFinding(try await drover(["doctor", "--codex", codex, "--json"]).1)
        #expect(finding["ok"] as? Bool == true)
        #expect(finding["supported"] as? Bool == true)
        let release = try #require(finding["version"] as? String)
        let version = try #require(CodexVersion(release))
        #expect(version >= CodexVersion.floor)

        // A newer release than any tested is supported, and says so.
        let newer = try fakeCodex(printing: "codex-cli 9.0.0")
        defer { try? FileManager.default.removeItem(atPath: newer) }
        let (_, newerOutput) = try await drover(["doctor", "--codex", newer])
        #expect(
            newerOutput.contains("ok   codex version: 9.0.0, supported: 0.147.0 or later; newer than the newest tested, 0.163.0"),
            "\(newerOutput)"
        )
    }
}
