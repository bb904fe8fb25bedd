public import DroverProtocol

/// Runs a TODO's prompt with one agent and a TODO that only has a command with another, so one worker takes
/// both kinds (`drover worker --agent codex`).
public struct PromptOrCommandAgent: AgentSession {
    public var prompts: any AgentSession
    public var commands: any AgentSession

    public init(prompts: any AgentSession, commands: any AgentSession = CommandAgent()) {
        self.prompts = prompts
        self.commands = commands
    }

    public func run(task: TaskSpec, lease: LeaseRef, workdir: String, context: AgentContext) async -> AgentResult {
        let agent = task.prompt == nil ? commands : prompts
        return await agent.run(task: task, lease: lease, workdir: workdir, context: context)
    }
}
