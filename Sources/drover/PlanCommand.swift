import ArgumentParser
import Coordinator
import DroverClients
import DroverPlans
import DroverProtocol
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Check plan files and hand them to a coordinator.",
        subcommands: [Validate.self, Submit.self, Pause.self, Resume.self, Cancel.self, Report.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a plan file and report every problem with where it is; exits 1 when there are any."
        )

        @Argument(help: "The plan file (YAML or JSON).") var file: String
        @Flag(help: "Print the result as JSON.") var json = false

        struct Result: Encodable {
            struct Problem: Encodable {
                var path: String
                var message: String
                var line: Int?
                var column: Int?
            }
            var file: String
            var valid: Bool
            var plan: String?
            var todos: Int?
            var problems: [Problem]
        }

        func run() throws {
            do {
                let plan = try PlanLoader.load(path: file)
                if json {
                    printJSON(Result(file: file, valid: true, plan: plan.id, todos: plan.todos.count, problems: []))
                } else {
                    print("\(file): plan \(plan.id) is valid: \(plan.todos.count) TODOs")
                }
            } catch let error as PlanError {
                if json {
                    let problems = error.problems.map {
                        Result.Problem(path: $0.path, message: $0.message, line: $0.line, column: $0.column)
                    }
                    printJSON(Result(file: file, valid: false, plan: nil, todos: nil, problems: problems))
                } else {
                    printError(error.description)
                    printError("\(file): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") found")
                }
                throw ExitCode(1)
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a plan file to a running coordinator.")

        @Argument(help: "The plan file (YAML or JSON).") var file: String
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let plan: Plan
            do {
                plan = try PlanLoader.load(path: file)
            } catch let error as PlanError {
                printError(error.description)
                throw ExitCode(1)
            }
            let reply = try await location.controlClient().request(
                .submit,
                SubmitBody(plan: plan),
                as: SubmittedBody.self
            )
            if json {
                printJSON(reply)
            } else {
                print(reply.created ? "submitted plan \(reply.plan)" : "plan \(reply.plan) was already submitted")
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start no new TODO of a plan (running ones go on).")
        @OptionGroup var target: PlanTarget
        func run() async throws { try await target.send(.pause) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused plan go on.")
        @OptionGroup var target: PlanTarget
        func run() async throws { try await target.send(.resume) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel every unfinished TODO of a plan (running ones are stopped).")
        @OptionGroup var target: PlanTarget
        func run() async throws { try await target.send(.cancel) }
    }
}

extension PlanCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a finished plan's report: each TODO's outcome, the integration branch, what was left out, next steps.",
            discussion: """
                The report is made when the plan and its merges have ended. It is read from the state directory when \
                it is there (no coordinator needed, as after `drover run`), else asked of the coordinator.

                With --ai, the coordinator has a codex session (run by a worker, read-only) read the report and the \
                repository and recommend tests, deployment notes and follow-up work; the command waits for it (progress \
                on stderr, at most --timeout seconds) and prints the report with the recommendations, marked as the \
                model's opinion. A review made before is printed at once; one that failed is printed with why, and \
                the command exits 1 (asking again tries again). --ai needs the coordinator and a worker running codex.
                """
        )
        @Argument(help: "The plan id.") var plan: String
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the report as JSON.") var json = false
        @Flag(help: "Ask for a codex reviewer's recommendations (tests, deployment, follow-up work) and wait for them.")
        var ai = false
        @Option(help: "With --ai: seconds to wait for the review (it goes on after).") var timeout: Double = 1800

        func validate() throws {
            if let problem = Identifier.problem(with: plan) { throw ValidationError("the plan id \(problem)") }
            guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds, not \(timeout)") }
        }

        func run() async throws {
            let statePath = "\(location.stateDir)/state.sqlite"
            let report: PlanReport
            if ai {
                report = try await reviewed()
            } else if location.control == nil, FileManager.default.fileExists(atPath: statePath) {
                // The coordinator's own state file: the report is there if it is made at all.
                guard let stored = try PlanReports.read(statePath: statePath, plan: plan) else {
                    throw ValidationError(
                        "plan \(plan) has no report in \(location.stateDir): a report is made when a plan and its merges have ended "
                            + "(see `drover status`)"
                    )
                }
                report = stored
            } else {
                report = try await location.controlClient().request(
                    .planReport,
                    ReportRequest(plan: plan),
                    as: PlanReport.self
                )
            }
            if json { printJSON(report) } else { print(report.markdown, terminator: "") }
            if ai, report.aiReview?.state == .failed { throw ExitCode(1) }
        }

        /// `--ai`: the report once its AI review has ended.
        private func reviewed() async throws -> PlanReport {
            do {
                return try await ControlClient.withConnection(endpoint: location.controlEndpoint, security: try location.keys.security()) {
                    client in
                    try await AIReviewFollower(control: client, events: location.eventsEndpoint).review(
                        plan,
                        timeout: .milliseconds(Int64(timeout * 1000)),
                        progress: { printError($0) }
                    )
                }
            } catch let error as DroverError where error.code == .noReply {
                throw ValidationError(
                    "no coordinator answered at \(location.controlEndpoint): --ai needs a running coordinator and a worker "
                        + "with codex (`drover coordinator`, `drover worker --agent codex`); \(error.message)"
                )
            }
        }
    }
}

/// The plan an operator acts on, and where its coordinator is.
struct PlanTarget: ParsableArguments {
    @Argument(help: "The plan id.") var plan: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the plan's status as JSON.") var json = false

    func send(_ action: PlanRequest.Action) async throws {
        let status = try await location.controlClient().request(
            .plan,
            PlanRequest(plan: plan, action: action),
            as: StatusBody.PlanStatus.self
        )
        if json {
            printJSON(status)
        } else {
            let counts = status.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("plan \(status.id) [\(status.state)\(status.paused == true ? ", paused" : "")] \(counts)")
        }
    }
}
