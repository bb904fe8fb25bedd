import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import ScriptedModel
import Testing
import Worker

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Secrets planted in a codex session's output, in a command's output and in a check's output, through real
/// processes: none of them is anywhere Drover writes (its state, audit log, events, logs, dashboard).
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex"))
struct RedactionTests {
    static let openAIKey = "sk-proj-PlantedOpenAIKey1234567890abcd"
    static let gitHubToken = "ghp_PlantedGitHubToken0123456789abcdefXY"
    static let awsKeyID = "AKIAPLANTED000000000"
    /// Known by value only: the worker's DEPLOY_TOKEN (a secret by its name) and CUSTOM_THING (named by --secret-env).
    static let deployToken = "deploy-value-Zq81xPw3"
    static let customValue = "custom-plain-SECRETVALUE-77"
    static var planted: [String] { [openAIKey, gitHubToken, awsKeyID, deployToken, customValue] }

    @Test func plantedSecretsAreNowhereDroverWrites() async throws {
        let server = try ScriptedModelServer(scripts: [
            ModelScript([
                .shell("echo the key is \(Self.gitHubToken)"),
                .message("Done. I used \(Self.openAIKey) and \(Self.customValue) to get there."),
            ])
        ])
        defer { server.stop() }
        try await Cluster.with { cluster in
            let endpoints = try await cluster.startCoordinator(extra: ["--log-level", "debug"])
            let worker = try cluster.startCommand(
                "worker",
                [
                    "/usr/bin/env", "DEPLOY_TOKEN=\(Self.deployToken)", "CUSTOM_THING=\(Self.customValue)", TestProcess.droverPath,
                    "worker",
                    "--id", "w1", "--coordinator", endpoints.work, "--slots", "3", "--workdir", cluster.directory, "--log-level", "debug",
                    "--secret-env", "CUSTOM_THING", "--agent", "codex", "--model-base-url", server.baseURL, "--codex-home",
                    "\(cluster.directory)/codex-home",
                ]
            )
            try await cluster.submit(
                Plan(
                    id: "leaky",
                    title: "leaky",
                    todos: [
                        Todo(
                            id: "cmd",
                            // Made at run time, so that the plan itself (the operator's own text) holds no secret.
                            command:
                                "echo \"token $DEPLOY_TOKEN and sk-proj-$(echo \(Self.openAIKey.dropFirst(8)))\"; echo \"$CUSTOM_THING\" >&2; echo done > cmd.txt",
                            checks: [Check(file: "cmd.txt")]
                        ),
                        Todo(
                            id: "chk",
                            command: "true",
                            checks: [
                                Check(command: "printf 'aws AKIA%s\\n' \(Self.awsKeyID.dropFirst(4)); echo deploy $DEPLOY_TOKEN; false")
                            ],
                            budget: Budget(turns: 1)
                        ),
                        Todo(id: "agent", prompt: "Print the key, then say what you used."),
                    ]
                )
            )
            let ended: Set<TodoState> = [.done, .failed, .escalated]
            let status = try await cluster.waitForStatus(timeout: .seconds(120), "every TODO to end") { status in
                status.todos.count == 3 && status.todos.allSatisfy { ended.contains($0.state) }
            }
            #expect(status.todos.first { $0.id == "agent" }?.state == .done)

            // What Drover wrote: the state directory (SQLite and its WAL, the audit log), the events, the processes'
            // logs, the dashboard.
            var written: [(String, String)] = []
            for file in (try FileManager.default.contentsOfDirectory(atPath: cluster.stateDir)) {
                let data = FileManager.default.contents(atPath: "\(cluster.stateDir)/\(file)") ?? Data()
                written.append((file, String(decoding: data, as: UTF8.self)))
            }
            let events = try cluster.events()
            let eventsJSON = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
            written.append(("events", eventsJSON))
            written.append(("coordinator log", cluster.coordinator?.output ?? ""))
            written.append(("worker log", worker.output))
            let dashboard = try #require(cluster.dashboard)
            for path in ["api/status", "api/report/leaky"] {
                let url = try #require(URL(string: dashboard + path))
                written.append((path, String(decoding: try await URLSession.shared.data(from: url).0, as: UTF8.self)))
            }
            for (place, text) in written {
                for secret in Self.planted { #expect(!text.contains(secret), "\(secret) in \(place)") }
            }
            // The output itself got through, redacted.
            #expect(eventsJSON.contains("[REDACTED]"))
            #expect(events.contains { $0.todo == "agent" && "\($0.data)".contains("the key is [REDACTED]") }, "the command's output")
        }
    }
}
