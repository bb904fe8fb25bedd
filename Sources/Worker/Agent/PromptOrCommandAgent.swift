public import Shared

/// Runs a TODO's prompt with one agent and a TODO that only has a command with another, so one worker takes
/// both kinds (`drover worker --agent codex`).
public struct PromptOrCommandAgent: AgentSession {
    public var prompts: any AgentSession
    public var commands: any AgentSession

    public init(prompts: any AgentSession, commands: any AgentSession = CommandAgent()) {
        self.prompts = prompts
        self.commands = commands
    }

    public func run(
        task: TaskSpec,
        lease: LeaseRef,
        workdir: String,
        events: @escaping @Sendable ([AgentEvent]) -> Void,
        checkpoint: @escaping @Sendable () async -> Void,
        ask: @escaping AskHuman
    ) async -> AgentResult {
        let agent = task.prompt == nil ? commands : prompts
        return await agent.run(task: task, lease: lease, workdir: workdir, events: events, checkpoint: checkpoint, ask: ask)
    }
}
