import ArgumentParser

@main
struct Drover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drover",
        abstract: "Keeps a fleet of agent sessions working until a plan is done.",
        discussion: """
            One machine: `drover run plan.yaml` starts a coordinator and local workers.
            Several machines: `drover coordinator` on one, `drover worker` on each of the others.
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, RunCommand.self, CoordinatorCommand.self, DoctorCommand.self, WorkerCommand.self, KeygenCommand.self,
            TokenCommand.self,
            PlanCommand.self,
            StatusCommand.self, JobCommand.self, PolicyCommand.self,
            EventsCommand.self, WorkersCommand.self, TodoCommand.self, SteerCommand.self, InboxCommand.self, ApproveCommand.self,
            DenyCommand.self,
            AnswerCommand.self, ReviewCommand.self, WatchCommand.self, MergeCommand.self, RollbackCommand.self,
        ]
    )
}
