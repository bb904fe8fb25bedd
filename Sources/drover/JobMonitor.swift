import DroverClients
import DroverProtocol
import DroverTransport
import Foundation
import ServiceLifecycle
import Synchronization

/// `drover run --goal`: starts a job, prints each transition and then its plan's progress, answers or relays its
/// permission question, and ends (which shuts the other services down) when the job does.
///
/// Like ``PlanMonitor`` it follows the coordinator's event stream: the job is asked for again when an event about it,
/// its steps or its plan arrives, not on a timer.
final class JobMonitor: Service, Sendable {
    /// What to start.
    struct Start: Sendable {
        var goal: String
        var repository: String
        var base: String?
        /// nil: the coordinator names it.
        var id: String?
    }

    /// What to do when the job asks for permissions.
    enum PermissionMode: Sendable {
        /// Approve every grant, and say so (`--approve-permissions`).
        case approveAll
        /// Ask the operator at the terminal, grant by grant.
        case ask
        /// Print the commands that answer, and wait for one of them.
        case printCommands
    }

    let endpoints: Endpoints
    let start: Start
    let permissions: PermissionMode
    /// What `drover answer` needs to find this coordinator (`--state-dir DIR`).
    let answerArguments: [String]
    let quiet: Bool
    /// How long each request to the coordinator waits for its reply.
    let requestTimeout: Duration
    private let result = Mutex<JobView?>(nil)

    init(
        endpoints: Endpoints,
        start: Start,
        permissions: PermissionMode,
        answerArguments: [String],
        quiet: Bool,
        requestTimeout: Duration = .seconds(5)
    ) {
        self.requestTimeout = requestTimeout
        self.endpoints = endpoints
        self.start = start
        self.permissions = permissions
        self.answerArguments = answerArguments
        self.quiet = quiet
    }

    /// The job as it ended.
    var final: JobView? { result.withLock { $0 } }

    func run() async throws {
        try await ControlClient.withConnection(endpoint: endpoints.control, timeout: requestTimeout) { client in
            let first = try await client.request(.status, EmptyBody(), as: StatusBody.self)
            let job = try await startOrResume(client)
            do {
                let final = try await cancelWhenGracefulShutdown { try await self.follow(job, client, after: first.seq) }
                result.withLock { $0 = final }
                if !quiet && final.plan != nil { await PlanReportPrinter.print(final.id, client) }
            } catch  where Task.isShuttingDownGracefully {
                // Stopped by a signal before the job ended: no result.
            }
        }
    }

    /// The job started, or the one `--id` names when this state directory has it already.
    private func startOrResume(_ client: ControlClient) async throws -> String {
        if let id = start.id, let existing = try? await client.job(id) {
            say("job \(id) is already in this state directory: following it (--fresh starts over)")
            return existing.id
        }
        let job = try await client.startJob(goal: start.goal, repository: start.repository, base: start.base, id: start.id)
        say("job \(job.id): \(JobText.oneLine(job.goal, limit: 100))")
        return job.id
    }

    /// Prints what happens to the job until it ends; returns it as it ended.
    private func follow(_ job: String, _ client: ControlClient, after seq: Int64) async throws -> JobView {
        let started = ContinuousClock.now
        let (changes, change) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let follower = EventFollower(events: endpoints.events, control: client)
        return try await withThrowingTaskGroup(of: JobView?.self) { group in
            group.addTask {
                try await follower.follow(after: seq) { event in
                    if let plan = event.plan, plan == job || plan.hasPrefix(job + "-") { change.yield() }
                    return true
                }
                return nil
            }
            group.addTask { [self] in
                var display = Display(quiet: quiet)
                var seen = JobChanges()
                var refreshed = ContinuousClock.now
                while true {
                    let view = try await client.job(job)
                    for change in seen.update(view) {
                        switch change {
                        case .transition(let transition):
                            display.line(
                                "job \(view.id): " + JobText.transition(from: transition.from, to: transition.to, reason: transition.reason)
                            )
                        case .permissionsAsked(let item):
                            try await negotiate(item, view, client, &display)
                        case .planProgress:
                            let status = try await client.request(.status, EmptyBody(), as: StatusBody.self)
                            if let plan = status.plans.first(where: { $0.id == job }) {
                                display.progress(PlanProgress.line(plan, workers: status.workers.count))
                            }
                        case .ended:
                            display.end()
                            summarize(view, seconds: Double((ContinuousClock.now - started).milliseconds) / 1000)
                            return view
                        }
                    }
                    for await _ in changes { break }
                    try Task.checkCancellation()
                    try await Task.sleep(until: refreshed.advanced(by: PlanMonitor.refreshInterval))
                    refreshed = ContinuousClock.now
                }
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let finished { return finished }
            }
            throw CancellationError()
        }
    }

    /// Answers the job's permissions item, as `permissions` says.
    private func negotiate(_ item: String, _ view: JobView, _ client: ControlClient, _ display: inout Display) async throws {
        let inboxItem = try await client.inbox().first { $0.id == item }
        let grants = inboxItem?.grants ?? view.grants ?? []
        display.end()
        say("job \(view.id) asks for permissions (inbox item \(item)):")
        for grant in grants { say("  " + JobText.grantLine(grant)) }
        var answer: PermissionAnswer?
        switch permissions {
        case .approveAll:
            answer = PermissionAnswer(asked: grants.map(\.id), granted: Set(grants.map(\.id)))
            say("approving every one of them (--approve-permissions)")
        case .ask:
            answer = await askOperator(grants, repository: view.repository)
        case .printCommands:
            break
        }
        if let answer {
            do {
                try await client.answer(answer.body(item: item))
                say(
                    "answered: "
                        + (answer.refused.isEmpty
                            ? "all granted"
                            : answer.granted.isEmpty
                                ? "all refused, the job ends"
                                : "granted \(answer.granted.joined(separator: ", ")), refused \(answer.refused.joined(separator: ", "))")
                )
                return
            } catch let error as ProtocolError {
                say("the answer was refused (\(error.message)); answer it yourself:")
            }
        }
        let all = grants.map(\.id)
        say(
            (permissions == .printCommands ? "stdin is not a terminal: answer" : "answer")
                + " with one of these in another shell; this run goes on once it is answered:"
        )
        say("  " + PermissionAnswer(asked: all, granted: Set(all)).command(item: item, arguments: answerArguments) + "    # approve all")
        if all.count > 1 {
            let some = PermissionAnswer(asked: all, granted: [all[0]])
            say("  " + some.command(item: item, arguments: answerArguments) + "    # approve only those named with --grant")
        }
        say(
            "  " + PermissionAnswer(asked: all, granted: []).command(item: item, arguments: answerArguments)
                + "    # refuse all: the job ends"
        )
        say("  (add --remember to keep the decision for \(view.repository))")
    }

    /// Asks the operator at the terminal, grant by grant; nil when stdin ended before the questions did.
    private func askOperator(_ grants: [PermissionGrant], repository: String) async -> PermissionAnswer? {
        var granted: Set<String> = []
        for grant in grants {
            guard
                let yes = await TerminalPrompt.yesOrNo(
                    quiet: quiet,
                    "grant \(grant.id) (\(grant.description)), needed by \(grant.todos.joined(separator: ", "))?"
                )
            else { return nil }
            if yes { granted.insert(grant.id) }
        }
        var replan = false
        if !granted.isEmpty && granted.count < grants.count {
            guard
                let answer = await TerminalPrompt.yesOrNo(
                    quiet: quiet,
                    "make the plan again without the refused grants (no: skip the TODOs that need them)?"
                )
            else { return nil }
            replan = answer
        }
        guard let remember = await TerminalPrompt.yesOrNo(quiet: quiet, "remember this decision for \(repository)?") else { return nil }
        return PermissionAnswer(asked: grants.map(\.id), granted: granted, replan: replan, remember: remember)
    }

    private func summarize(_ job: JobView, seconds: Double) {
        say("job \(job.id) \(job.state) in \(String(format: "%.1f", seconds)) s" + (job.reason.isEmpty ? "" : ": \(job.reason)"))
        if let answer = job.answer ?? job.classification?.answer { say(answer) }
        if let decision = job.permissions { say("permissions: " + JobText.decisionText(decision)) }
        if job.state != .done {
            say(
                "see its history with `"
                    + (["drover", "job", "show", job.id] + answerArguments).map(ShellWord.quote).joined(separator: " ") + "`"
            )
        }
    }

    /// Prints to stdout, or to stderr with --json (stdout then holds only the JSON).
    private func say(_ line: String) {
        if quiet { printError(line) } else { print(line) }
        flushOutput()
    }

    /// Lines and a progress line that is rewritten in place on a terminal.
    private struct Display {
        let quiet: Bool
        let terminal = isatty(STDOUT_FILENO) == 1
        var progressShown = false
        var lastProgress = ""

        mutating func line(_ text: String) {
            guard !quiet else { return }
            end()
            print(text)
            flushOutput()
        }

        mutating func progress(_ text: String) {
            guard !quiet, text != lastProgress else { return }
            lastProgress = text
            if terminal {
                print("\r\u{1B}[K" + text, terminator: "")
                progressShown = true
            } else {
                print(text)
            }
            flushOutput()
        }

        /// Ends the progress line, so the next output starts on a line of its own.
        mutating func end() {
            if progressShown { print("") }
            progressShown = false
        }
    }
}

/// Questions to the operator at the terminal, read off the concurrency pool's threads.
enum TerminalPrompt {
    /// Asks `question` until the answer is yes or no; nil when stdin ends or the task is cancelled. With `quiet`
    /// (`--json`) the question goes to stderr, leaving stdout to the JSON.
    static func yesOrNo(quiet: Bool = false, _ question: String) async -> Bool? {
        while true {
            guard let answer = await line(question + " [y/n] ", quiet: quiet) else { return nil }
            switch answer.trimmingCharacters(in: .whitespaces).lowercased() {
            case "y", "yes": return true
            case "n", "no": return false
            default: continue
            }
        }
    }

    /// One line from stdin after printing `prompt` (on stderr when `quiet`).
    static func line(_ prompt: String, quiet: Bool = false) async -> String? {
        if quiet {
            FileHandle.standardError.write(Data(prompt.utf8))
        } else {
            print(prompt, terminator: "")
            flushOutput()
        }
        let (lines, continuation) = AsyncStream.makeStream(of: String?.self)
        // readLine blocks its thread: a thread of its own, so the workers' tasks go on meanwhile.
        Thread {
            continuation.yield(readLine())
            continuation.finish()
        }
        .start()
        for await line in lines { return line }
        return nil
    }
}
