import DroverProtocol
import DroverTesting
import Foundation
import Synchronization
import Testing
import Worker

/// Collects the events an agent reports, from any thread.
private final class EventLog: Sendable {
    private let events = Mutex<[AgentEvent]>([])

    var all: [AgentEvent] { events.withLock { $0 } }

    func append(_ batch: [AgentEvent]) { events.withLock { $0 += batch } }

    /// The text of the output events of one stream, joined.
    func output(_ stream: String) -> String {
        all.filter { $0.kind == .output && $0.stream == stream }.compactMap(\.text).joined()
    }
}

@Suite(.timeLimit(.minutes(1))) struct CommandAgentTests {
    static let lease = LeaseRef(leaseId: "lease-1", plan: "release-1", todo: "build", epoch: 3)

    let agent = CommandAgent(grace: .milliseconds(500))

    private func task(_ command: String?, timeout: Double? = nil, checks: [Check] = []) -> TaskSpec {
        TaskSpec(title: "test", command: command, prompt: nil, timeoutSeconds: timeout, checks: checks)
    }

    /// Runs the agent in `workdir` (bounded); records an issue and returns nil when it does not finish.
    private func run(
        _ task: TaskSpec,
        in workdir: String,
        agent: CommandAgent? = nil,
        events: EventLog = EventLog(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> AgentResult? {
        let agent = agent ?? self.agent
        let result = await value(within: .seconds(30)) {
            await agent.run(task: task, lease: Self.lease, workdir: workdir) { events.append($0) }
        }
        #expect(result != nil, "the agent did not finish", sourceLocation: sourceLocation)
        return result
    }

    // MARK: - The command

    @Test func successDeliversOutputEvents() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = EventLog()
        let result = try #require(await run(task("echo hello; echo oops >&2; echo world"), in: directory.path, events: events))
        #expect(result.outcome == .succeeded)
        #expect(result.exitCode == 0)
        #expect(result.summary == "command succeeded")
        #expect(result.outputTail.contains("hello\n"))
        #expect(result.outputTail.contains("world\n"))
        #expect(events.output("stdout") == "hello\nworld\n")
        #expect(events.output("stderr") == "oops\n")
        #expect(events.all.allSatisfy { $0.kind == .output })
    }

    @Test(arguments: [1, 7, 42]) func nonZeroExitFails(status: Int32) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try #require(await run(task("echo before; exit \(status)"), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.exitCode == status)
        #expect(result.summary.contains("status \(status)"))
        #expect(result.outputTail.contains("before"))
    }

    @Test func missingCommandFails() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try #require(await run(task(nil), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("no 'command'"))
    }

    @Test func runsInTheWorkDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = EventLog()
        let result = try #require(await run(task("pwd; echo made > made.txt"), in: directory.path, events: events))
        #expect(result.outcome == .succeeded)
        let realDirectory = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
        #expect(events.output("stdout") == realDirectory + "\n")
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/made.txt"))
    }

    @Test func leaseIsInTheEnvironment() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = EventLog()
        let agent = CommandAgent(environment: ["EXTRA_SETTING": "on"], grace: .milliseconds(500))
        let command = #"echo "$DROVER_PLAN/$DROVER_TODO/$DROVER_EPOCH/$EXTRA_SETTING""#
        let result = try #require(await run(task(command), in: directory.path, agent: agent, events: events))
        #expect(result.outcome == .succeeded)
        #expect(events.output("stdout") == "release-1/build/3/on\n")
    }

    @Test func outputTailIsBounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try #require(await run(task("i=0; while [ $i -lt 5000 ]; do echo line-$i; i=$((i+1)); done"), in: directory.path))
        #expect(result.outcome == .succeeded)
        #expect(result.outputTail.utf8.count <= 4096)
        #expect(result.outputTail.hasSuffix("line-4999\n"))
        #expect(!result.outputTail.contains("line-0\n"))
    }

    // MARK: - Stopping

    @Test func timeoutStopsTheCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ContinuousClock()
        let start = clock.now
        // The sleep is long enough that a busy machine (the whole suite starting at once) cannot blur the two ends.
        let result = try #require(await run(task("echo started; sleep 120", timeout: 0.5), in: directory.path))
        let elapsed = start.duration(to: clock.now)
        #expect(result.outcome == .timedOut)
        #expect(result.summary.contains("timed out after 0.5 s"))
        #expect(result.outputTail.contains("started"))
        #expect(elapsed >= .milliseconds(500))
        #expect(elapsed < .seconds(45), "stopped at the deadline, not at the end of the sleep: \(elapsed)")
    }

    @Test func cancellingTheTaskStopsTheCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = "\(directory.path)/sleep.pid"
        let agent = self.agent
        let running = Task {
            await agent.run(
                task: task("sleep 300 & echo $! > '\(pidFile)'; wait"),
                lease: Self.lease,
                workdir: directory.path
            ) { _ in }
        }
        let sleeper = try #require(await pid(in: pidFile))
        defer { kill(sleeper, SIGKILL) }
        #expect(!isGone(sleeper))

        running.cancel()
        let result = await value(within: .seconds(10)) { await running.value }
        #expect(result?.outcome == .cancelled)
        #expect(await eventually { isGone(sleeper) }, "the command's process \(sleeper) is still running")
    }

    @Test func cancellingDuringACheckStopsItAndTheRemainingChecks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = "\(directory.path)/check.pid"
        let checks = [Check(command: "echo $$ > '\(pidFile)'; exec sleep 300"), Check(command: "touch second-check-ran")]
        let agent = self.agent
        let running = Task {
            await agent.run(task: task("true", checks: checks), lease: Self.lease, workdir: directory.path) { _ in }
        }
        let check = try #require(await pid(in: pidFile))
        defer { kill(check, SIGKILL) }

        running.cancel()
        let result = await value(within: .seconds(10)) { await running.value }
        #expect(result?.outcome == .cancelled, "a stopped check is not a failed one: \(String(describing: result))")
        #expect(await eventually { isGone(check) }, "the check's process \(check) is still running")
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/second-check-ran"))
    }

    // MARK: - Checks

    @Test func failingCommandCheckFailsTheRun() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [Check(command: "true"), Check(command: "echo nope; exit 4")]
        let result = try #require(await run(task("true", checks: checks), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.exitCode == 0, "the command itself succeeded")
        #expect(result.summary.contains("check failed"))
        #expect(result.summary.contains("command `echo nope; exit 4`"), "\(result.summary)")
        try #require(result.checks.count == 2)
        #expect(result.checks[0].passed)
        #expect(!result.checks[1].passed)
        #expect(result.checks[1].detail.contains("exit 4"))
        #expect(result.checks[1].detail.contains("nope"))
    }

    @Test func commandChecksSeeTheLeaseAndRunInTheWorkDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [Check(command: #"test "$DROVER_TODO" = build && test -f out.txt"#)]
        let result = try #require(await run(task("echo x > out.txt", checks: checks), in: directory.path))
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(result.checks.map(\.passed) == [true])
    }

    @Test func checkThatRunsTooLongFails() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [Check(command: "sleep 30", timeoutSeconds: 0.3)]
        let result = try #require(await run(task("true", checks: checks), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.checks.first?.passed == false)
        #expect(result.checks.first?.detail.contains("timed out") == true)
    }

    @Test func passingFileAndPatternChecks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [
            Check(file: "out/app"),
            Check(file: "CHANGELOG.md", pattern: #"## 1\.\d+"#),
            Check(file: "\(directory.path)/CHANGELOG.md", pattern: "(?m)^released$"),
        ]
        let command = "mkdir out && touch out/app && printf '# Changes\\n## 1.2\\nreleased\\n' > CHANGELOG.md"
        let result = try #require(await run(task(command, checks: checks), in: directory.path))
        #expect(result.outcome == .succeeded, "\(result.summary)")
        #expect(result.checks.map(\.passed) == [true, true, true], "\(result.checks)")
        #expect(result.checks.map(\.check) == checks.map(\.description))
    }

    @Test func missingFileFailsItsCheck() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try #require(await run(task("true", checks: [Check(file: "missing.txt")]), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("file missing.txt exists"), "\(result.summary)")
        #expect(result.checks.first?.detail.contains("does not exist") == true)
    }

    @Test func patternThatDoesNotMatchFailsItsCheck() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [Check(file: "version.txt", pattern: #"^2\."#)]
        let result = try #require(await run(task("echo 1.9 > version.txt", checks: checks), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("version.txt matches"), "\(result.summary)")
        #expect(result.checks.first?.detail.contains("no match") == true)
    }

    @Test func invalidPatternFailsItsCheck() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let checks = [Check(file: "a.txt", pattern: "([a-z")]
        let result = try #require(await run(task("echo a > a.txt", checks: checks), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.checks.first?.detail.contains("not a valid regular expression") == true)
    }

    @Test func checksDoNotRunWhenTheCommandFails() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try #require(await run(task("exit 1", checks: [Check(command: "touch ran")]), in: directory.path))
        #expect(result.outcome == .failed)
        #expect(result.checks.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/ran"))
    }
}
