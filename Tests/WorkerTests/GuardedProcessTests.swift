import DroverTesting
import Foundation
import Synchronization
import Testing
import Worker

/// What a finished process produced.
private struct Finished: Sendable {
    var stdout = ""
    var stderr = ""
    var chunks = 0
    var status: Int32 = -1
}

/// Reads all output of `process` and waits for its status, for at most `timeout`.
private func finish(_ process: GuardedProcess, within timeout: Duration = .seconds(20)) async -> Finished? {
    await value(within: timeout) {
        var finished = Finished()
        var out = Data()
        var err = Data()
        for await chunk in process.output {
            finished.chunks += 1
            switch chunk.stream {
            case .stdout: out.append(chunk.data)
            case .stderr: err.append(chunk.data)
            }
        }
        finished.stdout = String(decoding: out, as: UTF8.self)
        finished.stderr = String(decoding: err, as: UTF8.self)
        finished.status = await process.wait()
        return finished
    }
}

private func shell(_ script: String, environment: [String: String] = [:], directory: String? = nil) throws -> GuardedProcess {
    try GuardedProcess(arguments: ["/bin/sh", "-c", script], environment: environment, directory: directory)
}

/// Waits (bounded) until the process's standard output has said `line`; the rest of its output is dropped.
private func awaitLine(_ line: String, from process: GuardedProcess, within timeout: Duration = .seconds(10)) async -> Bool {
    await value(within: timeout) {
        var seen = ""
        for await chunk in process.output where chunk.stream == .stdout {
            seen += String(decoding: chunk.data, as: UTF8.self)
            if seen.contains(line) { return true }
        }
        return false
    } ?? false
}

@Suite(.timeLimit(.minutes(1))) struct GuardedProcessTests {
    @Test func streamsStdoutAndStderrSeparately() async throws {
        let process = try shell("printf 'to out\\n'; printf 'to err\\n' >&2; printf 'more out'")
        let finished = try #require(await finish(process))
        #expect(finished.stdout == "to out\nmore out")
        #expect(finished.stderr == "to err\n")
        #expect(finished.status == 0)
        #expect(process.hasExited)
    }

    @Test(arguments: [0, 3, 255]) func returnsTheExitStatus(status: Int32) async throws {
        let process = try shell("exit \(status)")
        let finished = try #require(await finish(process))
        #expect(finished.status == status)
        #expect(await process.wait() == status, "waiting again gives the same status")
    }

    @Test func deliversLargeOutputCompletely() async throws {
        let process = try shell("head -c 1000000 /dev/zero | tr '\\0' 'x'; echo; echo end >&2")
        let finished = try #require(await finish(process))
        #expect(finished.stdout.utf8.count == 1_000_001)
        #expect(finished.stdout.hasSuffix("x\n"))
        #expect(finished.stderr == "end\n")
        #expect(finished.status == 0)
    }

    @Test func terminateEndsTheProgramWithSIGTERM() async throws {
        let process = try shell("echo ready; exec sleep 300")
        #expect(await awaitLine("ready", from: process))
        #expect(!process.hasExited)
        process.terminate(grace: .seconds(20))
        let status = await value(within: .seconds(10)) { await process.wait() }
        #expect(status == 128 + SIGTERM)
    }

    @Test func signalReachesTheProgram() async throws {
        let process = try shell("echo ready; exec sleep 300")
        #expect(await awaitLine("ready", from: process))
        process.signal(SIGUSR1)
        let status = await value(within: .seconds(10)) { await process.wait() }
        #expect(status == 128 + SIGUSR1)
    }

    @Test func terminateKillsTheWholeGroupIncludingGrandchildren() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = "\(directory.path)/grandchild.pid"
        let process = try shell("sleep 300 & echo $! > '\(pidFile)'; wait")
        let grandchild = try #require(await pid(in: pidFile))
        defer { kill(grandchild, SIGKILL) }
        #expect(!isGone(grandchild))

        process.terminate(grace: .seconds(5))
        let status = await value(within: .seconds(10)) { await process.wait() }
        #expect(status == 128 + SIGTERM)
        #expect(await eventually { isGone(grandchild) }, "the grandchild \(grandchild) is still running")
    }

    @Test func backgroundProcessLeftBehindDoesNotOutliveTheProgram() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = "\(directory.path)/daemon.pid"
        let process = try shell("sleep 300 & echo $! > '\(pidFile)'")
        let finished = try #require(await finish(process))
        #expect(finished.status == 0)
        let daemon = try #require(await pid(in: pidFile))
        defer { kill(daemon, SIGKILL) }
        // When the program is done, what it left running in its group is killed with it.
        #expect(await eventually(within: .seconds(5)) { isGone(daemon) }, "the background process \(daemon) is still running")
    }

    @Test func terminateRightAfterStartIsNotLost() async throws {
        // A stop that reaches the guardian before it has started the program must still reach the program as SIGTERM,
        // not wait for the SIGKILL after the grace.
        for _ in 0..<20 {
            let process = try GuardedProcess(arguments: ["/bin/sleep", "30"], environment: [:], directory: nil)
            process.terminate(grace: .seconds(20))
            let status = await value(within: .seconds(15)) { await process.wait() }
            #expect(status == 128 + SIGTERM)
            if status != 128 + SIGTERM {
                process.signal(SIGKILL)
                break
            }
        }
    }

    @Test func programThatIgnoresSIGTERMIsKilledAfterTheGrace() async throws {
        // The trap is run (SIGTERM arrived), the loop goes on, and SIGKILL ends it once the grace is over.
        let process = try shell("trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.05; done")
        #expect(await awaitLine("ready", from: process))
        let clock = ContinuousClock()
        let start = clock.now
        process.terminate(grace: .milliseconds(500))
        let status = await value(within: .seconds(15)) { await process.wait() }
        let elapsed = start.duration(to: clock.now)
        #expect(status == 128 + SIGKILL)
        #expect(elapsed >= .milliseconds(500), "killed only after the grace: \(elapsed)")
        #expect(elapsed < .seconds(10))
    }

    /// The kernel tells the guardian when the thread that started it ends, not only when the process dies; a
    /// program must outlive the thread (threads of a pool come and go), and still die with the process.
    @Test func theProgramOutlivesTheThreadThatStartedIt() async throws {
        let started = Mutex<GuardedProcess?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.withLock { $0 = try? shell("sleep 1; echo survived") }
            done.signal()
        }
        thread.start()
        done.wait()  // the thread ends right after starting the program
        let process = try #require(started.withLock { $0 })
        let finished = try #require(await finish(process))
        #expect(finished.stdout == "survived\n")
        #expect(finished.status == 0)
    }

    @Test func terminateAfterExitDoesNothing() async throws {
        let process = try shell("exit 5")
        let finished = try #require(await finish(process))
        process.terminate(grace: .zero)
        #expect(finished.status == 5)
        #expect(await process.wait() == 5)
    }

    @Test func runsInTheGivenDirectoryWithTheGivenEnvironment() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let process = try shell(
            "pwd; echo \"$GREETING\"; echo \"home=${HOME-unset}\"",
            environment: ["GREETING": "hello there", "PATH": "/usr/bin:/bin"],
            directory: directory.path
        )
        let finished = try #require(await finish(process))
        let lines = finished.stdout.split(separator: "\n").map(String.init)
        let realDirectory = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
        #expect(lines == [realDirectory, "hello there", "home=unset"], "only the given environment is passed on")
        #expect(finished.status == 0)
    }

    @Test func stdinIsDevNull() async throws {
        let process = try GuardedProcess(arguments: ["/bin/cat"], environment: [:], directory: nil)
        let finished = try #require(await finish(process, within: .seconds(10)), "cat is still waiting for input")
        #expect(finished.stdout.isEmpty)
        #expect(finished.status == 0)
    }

    @Test func missingProgramExits127() async throws {
        let process = try GuardedProcess(arguments: ["/nonexistent/program"], environment: [:], directory: nil)
        let finished = try #require(await finish(process))
        #expect(finished.status == 127)
    }

    @Test func missingDirectoryExits126() async throws {
        let process = try GuardedProcess(arguments: ["/bin/true"], environment: [:], directory: "/nonexistent/directory")
        let finished = try #require(await finish(process))
        #expect(finished.status == 126)
    }

    @Test func pidIsTheProcessGroup() async throws {
        let process = try shell("echo ready; exec sleep 300")
        #expect(await awaitLine("ready", from: process))
        #expect(getpgid(process.pid) == process.pid)
        process.terminate(grace: .seconds(1))
        #expect(await value(within: .seconds(10)) { await process.wait() } != nil)
    }
}
