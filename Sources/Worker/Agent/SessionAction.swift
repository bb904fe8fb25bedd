import DroverProtocol

/// What the session loop does next, as ``SessionSupervisor`` decides it. The loop only carries actions out and feeds
/// what came of them back to the supervisor.
enum SessionAction: Sendable, Equatable {
    /// Run a turn with `prompt`, on `threadID` when there is one (a new thread otherwise); then
    /// ``SessionSupervisor/turnEnded(_:)``.
    case runTurn(prompt: String, threadID: String?)
    /// Checkpoint the work, run the TODO's acceptance checks; then ``SessionSupervisor/checksRan(_:cancelled:)``.
    case runChecks
    /// Report the detection, ask the coordinator's policy whether the session may recover as proposed, report what
    /// follows (``AgentContext/consultPolicy(_:)``); then ``SessionSupervisor/policyAnswered(_:)``.
    case recover(RecoveryRequest)
    /// Report `report`, ask an operator `question` through the inbox; then ``SessionSupervisor/humanAnswered(_:)``.
    case askHuman(Question, report: [AgentEvent])
    /// Report `report`, wait `after` when it is set (a back-off), then ask ``SessionSupervisor/nextTurn(elapsed:)``.
    case `continue`(after: Duration? = nil, report: [AgentEvent] = [])
    /// The session is over.
    case finish(AgentResult)
}

/// What one turn produced, as the supervisor reads it: a summary of ``CodexTurn`` and of how the process side ended.
struct TurnReport: Sendable, Equatable {
    /// How codex ended the turn; nil when it never did (it exited, or it was stopped).
    enum Ending: Sendable, Equatable {
        case completed
        case failed(message: String)
    }

    var ending: Ending?
    /// No agent event for the idle limit while no command ran: the watchdog stopped it.
    var hung = false
    /// Evidence of a loop the turn was stopped for.
    var looping: String?
    /// Why the policy refused, while the turn ran, to recover from its loop (the app-server driver asks before it
    /// steers a running turn): the question is not asked twice.
    var loopRefusal: String?
    /// The turn's last agent message.
    var lastMessage: String?
    /// Commands run and file changes made in the turn (nil: not known, taken as some).
    var actions: Int?
    var threadID: String?
    var tokens: Int64 = 0
    /// The codex process's exit status (0 for an app-server turn whose server still runs).
    var status: Int32 = 0
    /// The TODO's time limit stopped the turn.
    var timedOut = false
    /// The session was asked to stop while the turn ran.
    var cancelled = false
    /// The end of codex's output, for reports.
    var tail = ""
}

extension TurnReport {
    /// What `turn` saw and how `run` ended.
    init(turn: CodexTurn, run: ProcessRun, cancelled: Bool) {
        switch turn.ending {
        case .turnCompleted?: ending = .completed
        case .turnFailed(let message)?: ending = .failed(message: message)
        default: ending = nil
        }
        hung = turn.hung
        looping = turn.looping
        loopRefusal = turn.loopRefusal
        lastMessage = turn.lastMessage
        actions = turn.actions
        threadID = turn.threadID
        tokens = turn.tokens
        status = run.status
        timedOut = run.timedOut
        self.cancelled = cancelled
        tail = run.tail
    }
}
