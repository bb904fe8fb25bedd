import ArgumentParser
import Coordinator
import DroverProtocol
import Foundation
import Logging
import ScriptedModel
import Worker

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch Drover take a goal to a plan and keep real codex sessions working on it (scripted model, no API key).",
        discussion: """
            Makes a sample git repository with a bug, starts a scripted model on 127.0.0.1, a coordinator and three \
            workers, and starts a job from a goal: codex sessions classify it, investigate the repository and plan \
            (the first plan has a cycle and is sent back), the demo approves the permission the plan asks for as an \
            operator would, and the plan's four TODOs run. One session stops early and fails the test, one hangs, \
            one asks a question, one hits a rate limit; Drover recovers each. Needs codex \
            (pip install openai-codex-cli-bin).
            """
    )

    @Option(help: "Directory for the demo (default: a new one under /tmp, kept so you can look around).") var dir: String?
    @Option(help: "The codex executable (default: found as for `drover worker --agent codex`).") var codex: String?
    @Option(help: "Least severe log level written to stderr.") var logLevel: Logger.Level = .error
    @Option(help: "Serve the web dashboard while the demo runs, at HOST:PORT (e.g. 127.0.0.1:7180), or none.")
    var http = "none"

    func validate() throws { _ = try httpAddress(http) }

    func run() async throws {
        let logger = bootstrapLogging(label: "drover.demo", level: logLevel)
        guard let executable = codex ?? CodexConfiguration.findExecutable() else {
            printError("codex was not found: install it with `pip install openai-codex-cli-bin` (or pass --codex PATH)")
            throw ExitCode(1)
        }
        let directory = dir ?? "/tmp/drover-demo-\(UUID().uuidString.prefix(6).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let repository = "\(directory)/calc.git"
        try await DemoRepository.create(at: repository, files: DemoScenario.files, scratch: "\(directory)/seed")

        let server = try ScriptedModelServer(scripts: DemoScenario.scripts)
        defer { server.stop() }
        print("Drover demo in \(directory)")
        print("  repository  \(repository) (calc.sh subtracts; test.sh expects it to add)")
        print("  goal        \(DemoScenario.goal)")
        print("  model       scripted, on \(server.baseURL) (no API key needed)")
        print("  agents      real codex (\(executable)), three workers")
        print("")
        var configuration = CodexConfiguration(executable: executable, baseURL: server.baseURL, homeRoot: "\(directory)/codex-home")
        configuration.idleTimeout = .seconds(3)
        let cluster = LocalCluster(
            stateDir: "\(directory)/.drover",
            workers: 3,
            slots: 1,
            workdir: "\(directory)/work",
            agent: PromptOrCommandAgent(prompts: CodexAgent(configuration: configuration)),
            logger: logger,
            http: try httpAddress(http)
        )
        try FileManager.default.createDirectory(atPath: cluster.workdir, withIntermediateDirectories: true)
        let start = JobMonitor.Start(goal: DemoScenario.goal, repository: repository, base: "main", id: "demo")
        let final = try await cluster.run(
            start,
            permissions: .approveAll,
            answerArguments: ["--state-dir", "\(directory)/.drover"],
            quiet: false
        )

        print("")
        print("What Drover saw and did:")
        let events = try EventLog.read(statePath: "\(directory)/.drover/state.sqlite")
        for transition in final?.transitions ?? [] {
            print("  job: \(transition.from.map { "\($0) → " } ?? "")\(transition.to): \(transition.reason.prefix(100))")
        }
        // What the steps' sessions got wrong: the answer, and why it was sent back.
        for event in events where event.type == .agent(.detected) && event.plan?.hasPrefix("demo-") == true {
            let lines = (event.data["text"]?.stringValue ?? "").split(separator: "\n").prefix(2)
            print("    \(event.plan ?? "") detected \(lines.first?.prefix(100) ?? "")")
            for line in lines.dropFirst() { print("               \(line.prefix(100))") }
        }
        for todo in final?.plan?.todos ?? [] {
            let state = events.last { $0.plan == "demo" && $0.todo == todo.id && $0.type.subject == "todo" }?.type.rawValue ?? "?"
            print("  \(todo.id) [\(state.replacingOccurrences(of: "todo.", with: ""))]")
            for event in events
            where event.plan == "demo" && event.todo == todo.id && (event.type == .agent(.detected) || event.type == .agent(.recovery)) {
                let lines = (event.data["text"]?.stringValue ?? "").split(separator: "\n").prefix(2)
                print("    \(event.type == .agent(.detected) ? "detected" : "  → ") \(lines.first?.prefix(110) ?? "")")
                // The evidence: for a failed check, what it said.
                for line in lines.dropFirst() { print("               \(line.prefix(100))") }
            }
            let pushed = events.last {
                $0.plan == "demo" && $0.todo == todo.id && $0.type == .agent(.checkpoint)
                    && $0.data["text"]?.stringValue?.contains("pushed") == true
            }
            if let checkpoint = pushed?.data["text"]?.stringValue {
                print("    \(checkpoint)")
            }
        }
        // The merge queue: each TODO's branch into the integration branch, in dependency order, checks passing.
        let merged = events.filter { $0.type == .mergeMerged && $0.plan == "demo" }
        if !merged.isEmpty {
            print("  merged into drover/demo/integration, one at a time, the integration checks passing after each:")
            for event in merged {
                let head = event.data["head"]?.stringValue.map { String($0.prefix(7)) } ?? "?"
                print("    \(event.todo ?? "?") at \(head) (tag \(event.data["tag"]?.stringValue ?? "?"))")
            }
        }
        print("")
        print("The integration branch:              git --git-dir \(repository) log --oneline --first-parent drover/demo/integration")
        print("The branches are in \(repository):  git --git-dir \(repository) log --oneline --all")
        print("Every event:                         drover events --state-dir \(directory)/.drover")
        print("Every decision, with its reason:     \(directory)/.drover/audit.jsonl")
        if final?.state != .done { throw ExitCode(1) }
    }
}

/// The demo's sample repository: a bare repository with one commit.
enum DemoRepository {
    static func create(at repository: String, files: [String: String], scratch: String) async throws {
        guard !FileManager.default.fileExists(atPath: repository) else { return }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: "\(scratch)/\(name)", atomically: true, encoding: .utf8) }
        try await sh("git init --quiet --bare -b main '\(repository)'", in: scratch)
        try await sh(
            """
            git init --quiet -b main && git add . && git -c user.name=drover -c user.email=drover@localhost commit --quiet -m 'calc: first version' \
            && git push --quiet '\(repository)' main
            """,
            in: scratch
        )
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private static func sh(_ script: String, in directory: String) async throws {
        let (status, output) = try await GuardedProcess.output(of: ["/bin/sh", "-c", script], in: directory)
        guard status == 0 else { throw ValidationError("making the sample repository failed: \(output)") }
    }
}
