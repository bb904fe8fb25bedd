import ArgumentParser
import DroverClients
import DroverPlans
import DroverProtocol
import Foundation

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Start a job from a goal, and follow it to an approved plan and its end.",
        discussion: """
            A job goes classify → investigate → plan → permission_negotiate → execute → finalize → done (a question ends after \
            classify, with the answer). See docs/jobs.md.
            """,
        subcommands: [Start.self, List.self, Show.self, Cancel.self, PlanFile.self]
    )

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a job from a goal sentence in a git repository.")

        @Argument(help: "What the job should achieve, in a sentence.") var goal: String
        @OptionGroup var options: JobStartOptions
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the job as JSON.") var json = false

        func validate() throws { try options.validate(goal: goal) }

        func run() async throws {
            let repository = try options.checkedRepository()
            let job = try await location.controlClient().startJob(
                goal: goal,
                repository: repository,
                base: options.base,
                id: options.id
            )
            if json {
                printJSON(job)
            } else {
                print("started job \(job.id) [\(job.state)] in \(job.repository)")
                print("follow it with `drover job show \(job.id)`; if its plan needs permissions, they wait in `drover inbox`")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the jobs, with their states.")
        @OptionGroup var location: CoordinatorLocation
        @Flag(help: "Print the jobs as JSON.") var json = false

        func run() async throws {
            let jobs = try await location.controlClient().jobs()
            if json {
                printJSON(JobsBody(jobs: jobs))
                return
            }
            if jobs.isEmpty { print("no jobs yet: start one with `drover job start \"GOAL\" --repository PATH`") }
            for job in jobs { print(JobText.listLine(job)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One job: its state, the history of its transitions, and each step's artifact."
        )
        @OptionGroup var target: JobTarget

        func run() async throws {
            let job = try await target.client.job(target.job)
            if target.json { printJSON(job) } else { print(JobText.render(job)) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job: its running step or TODOs are stopped.")
        @OptionGroup var target: JobTarget

        func run() async throws {
            let job = try await target.client.cancelJob(target.job)
            if target.json { printJSON(job) } else { print("job \(job.id) [\(job.state)]: cancel requested") }
        }
    }

    struct PlanFile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Print a job's plan as a plan file (YAML) that `drover plan submit` accepts.",
            discussion: "With --json: the plan as it crosses the wire (docs/protocol.md), not a plan file."
        )
        @OptionGroup var target: JobTarget

        func run() async throws {
            let job = try await target.client.job(target.job)
            guard let plan = job.plan else {
                printError("job \(job.id) has no plan yet (it is in \(job.state)); the plan comes out of its plan step")
                throw ExitCode(1)
            }
            if target.json { printJSON(plan) } else { print(PlanFileWriter.yaml(plan), terminator: "") }
        }
    }
}

/// The job an operator looks at or acts on, and where its coordinator is.
struct JobTarget: ParsableArguments {
    @Argument(help: "The job id (see `drover job list`).") var job: String
    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the result as JSON.") var json = false

    var client: ControlClient { get throws { try location.controlClient() } }

    func validate() throws {
        guard Identifier.isValid(job) else {
            throw ValidationError("\(job) is not a job id: give one as `drover job list` shows it (letters, digits, - and _)")
        }
    }
}

/// How a job is started: in which repository, from which branch, under which id. Shared by `job start` and
/// `run --goal`.
struct JobStartOptions: ParsableArguments {
    @Option(help: "The git repository the job works in: a path on this machine, or a URL the workers can reach.")
    var repository: String?
    @Option(help: "The branch the job's work starts from (default: the repository's default branch).") var base: String?
    @Option(help: "The job's id (default: the coordinator makes one); at most 48 characters.") var id: String?

    func validate(goal: String) throws {
        if goal.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("the goal is empty: say in a sentence what the job should achieve, e.g. \"Fix the login bug\"")
        }
        guard let repository, !repository.isEmpty else {
            throw ValidationError("--repository is required: the path or URL of the git repository to work in (. for this one)")
        }
        if let base, !GitRef.isValidBranch(base) {
            throw ValidationError("--base \"\(base)\" is not a valid branch name: give a branch of the repository, e.g. main")
        }
        if let id {
            if let problem = Identifier.problem(with: id) { throw ValidationError("--id \(problem)") }
            guard id.utf8.count <= JobRequest.maxJobIDLength else {
                throw ValidationError(
                    "--id is longer than \(JobRequest.maxJobIDLength) characters: a job's steps run as plans <job>-<step>"
                )
            }
        }
    }

    /// The repository to name in the request, after checking it with git: a local one as its absolute top
    /// directory.
    func checkedRepository() throws -> String {
        do {
            return try GitRepositoryCheck.check(repository: repository ?? "", base: base)
        } catch let error as DroverError {
            printError(error.message)
            throw ExitCode(1)
        }
    }
}
