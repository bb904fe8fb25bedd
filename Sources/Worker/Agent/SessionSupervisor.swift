import DroverProtocol
import Foundation

/// Decides, turn after turn, what a codex session does next: from what the turn produced, the checks' results and
/// the answers of the coordinator's policy and of operators, and from the session's history so far. It runs nothing
/// and waits for nothing: ``CodexAgent`` carries its ``SessionAction``s out.
///
/// | seen | action |
/// | --- | --- |
/// | wall time, turns or tokens past the budget | finish, escalated: over budget |
/// | the session was cancelled | finish, cancelled |
/// | the TODO's time limit stopped the turn | finish, timed out |
/// | no event for the idle limit while no command ran (hung) | recover: resume the thread with a nudge (or start again) |
/// | the same command with the same result again and again (looping) | recover: steer toward another approach |
/// | a loop the policy already refused to steer while the turn ran | finish, escalated with its reason |
/// | a transient model error, retries left | recover: back off (as long as the server asked, else exponentially), retry |
/// | the context window is full | recover: a new thread, seeded with what the last one said |
/// | usage limit with a known reset time (or a rate limit asking for a wait past ``Limits/parkBeyond``) | park: finish, parked until the reset, with the detection |
/// | usage limit, no reset time known | finish, escalated |
/// | any other turn failure | finish, failed |
/// | codex exited without ending its turn (crashed) | recover: resume the thread (or start again) |
/// | the turn completed with an answer that can be used (when the task wants one: ``OutputSpec``) | keep it, run the checks |
/// | the turn completed with an answer that cannot be used, answers left | report it, repair on the same thread with its problems (a turn outside the turn budget) |
/// | the turn completed with an answer that cannot be used, no answers left | finish, failed, with the step and every problem |
/// | the turn completed (no answer wanted) | run the checks |
/// | the checks pass | finish, succeeded (with the answer, when one was wanted) |
/// | checks fail, and the last message is a question the agent may decide alone (low, medium risk) | recover: decide |
/// | checks fail, and the question is above that risk, asked again after "decide", or needs credentials or access, a contradiction settled, a choice that cannot be undone | ask an operator, verbatim with its context; their answer goes on the thread |
/// | out of turns while a question is open | finish, escalated with the question |
/// | checks fail after the agent said it was done (checks failed) | recover: repair on the same thread, told so |
/// | checks fail otherwise: more to do said, a plan, nothing said or changed (stopped early) | recover: repair on the same thread |
/// | the policy refuses a recovery | finish, escalated with its reason |
/// | an operator's guidance came (``steered(_:)``) | it opens the next turn's input |
/// | the session would finish, succeeded, with guidance not yet given to it | one more turn with it (outside the turn budget) |
/// | an operator paused it | before the next turn: finish, paused (``paused()``) |
/// | the first turn of a resumed thread (``resume(thread:prompt:)``) ran on another thread, or on none (codex could not resume it) | a new thread with the full prompt, that turn not counted |
struct SessionSupervisor: Sendable {
    /// What bounds a session, from the TODO and the worker's codex configuration.
    struct Limits: Sendable, Equatable {
        var turns: Int
        var wallSeconds: Double?
        var tokens: Int?
        /// How long a turn may be silent while no command runs (for the evidence of a hang).
        var idleTimeout: Duration
        /// Transient errors retried in a row.
        var transientRetries: Int
        /// The first back-off when the server names no delay; it doubles each time.
        var backoff: Duration
        /// A rate limit whose server asks for a longer wait than this parks the TODO (its slot is freed) rather than
        /// holding the slot while it waits.
        var parkBeyond: Duration = Self.defaultParkBeyond

        static let defaultParkBeyond = Duration.seconds(60)
    }

    /// Where a session stands between turns.
    struct State: Sendable, Equatable {
        /// The prompt of the next turn.
        var prompt: String
        var threadID: String?
        var turns = 0
        /// Transient errors retried since the last turn that ended normally.
        var transientRetries = 0
        /// Tokens of every turn so far.
        var tokens: Int64 = 0
        /// The same, split as prices are.
        var usage = TokenUsage.zero
        /// The running total of the thread the last turn ran on, as codex reported it.
        var threadUsage = TokenUsage.zero
        var status: Int32?
        var tail = ""
        /// The last agent message of the session, kept across turns that said nothing (for a new thread's seed).
        var lastMessage: String?
        /// The last agent message of the latest turn.
        var turnMessage: String?
        /// Commands run and file changes made in the latest turn (nil: not known).
        var turnActions: Int?
        /// The question the latest turn ended with, while nobody has answered it.
        var openQuestion: String?
        /// The agent was told to decide a question itself: asking again goes to a human.
        var toldToDecide = false
        /// What kept the TODO from being done, for the report when the budget runs out.
        var lastProblem: String?
        /// Answers read so far (``OutputSpec``), usable or not.
        var answers = 0
        /// Turns run to repair an unusable answer: they do not count against the turn budget.
        var answerRepairs = 0
        /// The latest answer, when it could be used: JSON text.
        var answer: String?
        /// An operator's guidance not yet given to the session, oldest first: it opens the next turn's input.
        var guidance: [String] = []
        /// Turns run only because guidance came as the session would have finished: outside the turn budget.
        var guidedTurns = 0
        /// The thread a paused or parked session left, while its first turn has not shown codex resumed it.
        var resuming: String?
    }

    /// What the session waits for an answer about.
    private enum Pending: Sendable, Equatable {
        /// A recovery: go on, after a back-off when there is one.
        case retry(after: Duration?)
        /// A repair on the same thread, after `checks` failed: there must be a thread to go on.
        case repair(checks: [CheckResult])
        /// An operator's answer to `question`.
        case answer(question: String, failed: [CheckResult], checks: [CheckResult])
    }

    /// The first prompt of a thread: the TODO's prompt, after its context document when it has one.
    let prompt: String
    let risk: Risk?
    let limits: Limits
    /// The answer the session must end with, when the task wants one.
    let output: OutputSpec?
    private(set) var state: State
    private var pending: Pending?
    private var request: RecoveryRequest?

    /// `prompt` is the TODO's; `context`, when set, goes before it in the first prompt of every new thread.
    init(prompt: String, risk: Risk?, limits: Limits, context: String? = nil, output: OutputSpec? = nil) {
        self.prompt = SessionPrompts.opening(prompt: prompt, context: context)
        self.risk = risk
        self.limits = limits
        self.output = output
        state = State(prompt: self.prompt)
    }

    /// Turns per lease when the TODO's budget does not say.
    static let defaultTurns = 4

    /// The supervisor of a TODO's session, with limits from its budget and from `configuration`.
    init(task: TaskSpec, prompt: String, configuration: CodexConfiguration) {
        let limits = Limits(
            turns: max(1, task.budget?.turns ?? Self.defaultTurns),
            wallSeconds: task.budget?.wallSeconds,
            tokens: task.budget?.tokens,
            idleTimeout: configuration.idleTimeout,
            transientRetries: configuration.transientRetries,
            backoff: configuration.backoff
        )
        self.init(prompt: prompt, risk: task.risk, limits: limits, context: task.context, output: task.output)
    }

    /// The one rule for what an agent may decide without a human: questions and approvals of low and medium risk
    /// (and of TODOs that name no risk); above that, an operator answers.
    static func agentMayDecideAlone(risk: Risk?) -> Bool {
        switch risk {
        case nil, .low?, .medium?: true
        case .high?, .critical?: false
        }
    }

    // MARK: - Decisions

    /// The session goes on on `thread`, the codex thread of the TODO's session before (paused or parked, its rollout
    /// restored into this session's `CODEX_HOME`): the first turn resumes it with `prompt`, not the opening prompt,
    /// which the thread has. If that turn runs on no thread or another one, the session starts a new thread with
    /// the opening prompt instead (``turnEnded(_:)``).
    mutating func resume(thread: String, prompt: String) {
        state.threadID = thread
        state.prompt = prompt
        state.resuming = thread
    }

    /// Before a turn: the next one, or the end when the budget is spent.
    mutating func nextTurn(elapsed: Duration) -> SessionAction {
        if let wall = limits.wallSeconds, Double(elapsed.milliseconds) / 1000 >= wall {
            return escalate("over budget: \(Int(wall)) s of wall time spent", status: nil)
        }
        // Turns that only repaired an answer are bounded by the answers allowed, not by the turn budget.
        guard state.turns - state.answerRepairs - state.guidedTurns < limits.turns else {
            // Never a bare "over budget" while a question is open: the escalation carries it.
            if let question = state.openQuestion {
                return escalate(
                    "needs a human: codex asks: \(question.prefix(1000)) (over budget: \(limits.turns) turns spent)",
                    status: nil
                )
            }
            return escalate("over budget: \(limits.turns) turns spent; \(state.lastProblem ?? "the TODO is not done")", status: nil)
        }
        state.turns += 1
        return .runTurn(prompt: guided(state.prompt), threadID: state.threadID)
    }

    /// A turn's input: the guidance not yet given to the session first (it is given now), then `prompt`.
    mutating func guided(_ prompt: String) -> String {
        defer { state.guidance = [] }
        return SessionPrompts.guided(state.guidance, then: prompt)
    }

    /// An operator's guidance came: it opens the next turn's input.
    mutating func steered(_ texts: [String]) {
        state.guidance += texts
    }

    /// The session was about to end as `ending`: when it had succeeded and guidance came that it has not been given,
    /// one more turn with it instead (the operator's word is heard before the TODO is done). Nil otherwise.
    mutating func heardBeforeFinishing(_ ending: SessionAction) -> SessionAction? {
        guard case .finish(let result) = ending, result.outcome == .succeeded, !state.guidance.isEmpty, state.threadID != nil else {
            return nil
        }
        state.guidedTurns += 1
        state.prompt = SessionPrompts.beforeFinishing
        return .continue()
    }

    /// The session stops here, in place of the turn ``nextTurn(elapsed:)`` gave, because an operator paused it; the
    /// lease run checkpoints its work.
    func paused() -> AgentResult {
        let ran = max(0, state.turns - 1)
        let turns = "\(ran) turn\(ran == 1 ? "" : "s")"
        var result = AgentResult(
            outcome: .paused,
            exitCode: state.status,
            summary: "paused by an operator after \(turns)",
            outputTail: state.tail
        )
        result.tokens = state.tokens
        result.usage = state.usage.total > 0 ? state.usage : nil
        return result
    }

    /// After a turn: how it went decides.
    mutating func turnEnded(_ turn: TurnReport) -> SessionAction {
        state.tail = turn.tail
        if let expected = state.resuming {
            state.resuming = nil
            if turn.threadID != expected && !turn.cancelled {
                return notResumed(expected, turn)
            }
        }
        // Codex reports the thread's running total: the session used what it grew by (a new thread starts at zero).
        let thread = turn.threadID ?? state.threadID
        let total = turn.usage ?? TokenUsage(input: turn.tokens)
        let earlier = thread != nil && thread == state.threadID ? state.threadUsage : .zero
        if turn.usage != nil || turn.tokens > 0 {
            state.usage = state.usage + earlier.growth(to: total)
            state.threadUsage = total
        }
        state.tokens = state.usage.total
        state.threadID = turn.threadID ?? state.threadID
        state.status = turn.status
        if turn.cancelled { return stopped() }
        if turn.timedOut {
            return finish(.timedOut, "codex turn \(state.turns) timed out", status: turn.status)
        }
        if let budget = limits.tokens, state.tokens > budget {
            return escalate("over budget: \(state.tokens) tokens used, the budget is \(budget)", status: turn.status)
        }
        if turn.hung {
            state.lastProblem = "the session hung"
            let resume = state.threadID != nil
            state.prompt = resume ? "You stopped responding. Continue the task from where you were." : prompt
            return recover(
                .hung,
                "no agent event for \(limits.idleTimeout) while no command ran",
                resume ? "stop codex and resume the thread with a nudge" : "stop codex and start the turn again"
            )
        }
        if let evidence = turn.looping {
            if let why = turn.loopRefusal { return escalate("\(Detection.looping): \(why)", status: turn.status) }
            state.lastProblem = "looping: \(evidence)"
            state.prompt = "You are repeating yourself: \(evidence). That approach is not working: try a different one."
            return recover(.looping, evidence, "stop codex and steer it toward a different approach")
        }
        switch turn.ending {
        case .failed(let message)?:
            return failed(TurnFailure(message: message), lastMessage: turn.lastMessage, status: turn.status)
        case .completed?:
            state.lastMessage = turn.lastMessage ?? state.lastMessage
            state.turnMessage = turn.lastMessage
            state.turnActions = turn.actions
            state.transientRetries = 0
            if let output, let unusable = readAnswer(turn.lastMessage, output) { return unusable }
            // Codex saying it is done is not enough: the TODO's checks decide.
            return .runChecks
        case nil:
            state.lastProblem = "codex crashed"
            let resume = state.threadID != nil
            state.prompt = resume ? "Continue the task." : prompt
            return recover(
                .crashed,
                "codex exited with status \(turn.status) without ending its turn",
                resume ? "resume the thread" : "start the turn again"
            )
        }
    }

    /// Reads the answer of a completed turn: nil when it can be used (it is kept for the result); otherwise the
    /// repair turn that sends it back with its problems, or the end when no answers are left.
    private mutating func readAnswer(_ message: String?, _ output: OutputSpec) -> SessionAction? {
        state.answers += 1
        let text = (message ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        switch output.step.read(text) {
        case .success:
            state.answer = text
            return nil
        case .failure(let error):
            state.answer = nil
            let attempts = max(1, output.attempts)
            guard state.answers < attempts else {
                return finish(.failed, SessionPrompts.notUsable(error, answers: state.answers), status: state.status)
            }
            state.lastProblem = "the \(output.step.rawValue) answer could not be used"
            state.answerRepairs += 1
            state.prompt = SessionPrompts.unusableAnswer(error, answer: state.answers, attempts: attempts)
            return .continue(report: [SessionPrompts.unusableEvent(error, answer: state.answers, attempts: attempts)])
        }
    }

    /// A turn codex ended as failed: what its message says decides.
    private mutating func failed(_ failure: TurnFailure, lastMessage: String?, status: Int32) -> SessionAction {
        switch failure.kind {
        case .usageLimit:
            guard let resetsAt = failure.resetsAt else {
                return escalate("usage limit reached, and codex named no reset time: \(failure.message)", status: status)
            }
            return park(until: resetsAt, failure, status: status)
        case .transient where (failure.resetIn ?? .zero) > limits.parkBeyond:
            // A rate limit that resets later than the slot is worth holding for.
            return park(until: failure.resetsAt ?? Date(), failure, status: status)
        case .transient where state.transientRetries < limits.transientRetries:
            state.transientRetries += 1
            state.turns -= 1  // a turn the model never had does not count against the budget
            let delay = failure.retryAfter ?? .milliseconds(Int64(limits.backoff.milliseconds) << (state.transientRetries - 1))
            return recover(
                .transientError,
                failure.message,
                "back off \(delay) and retry the turn (\(state.transientRetries)/\(limits.transientRetries))",
                after: delay
            )
        case .contextFull:
            let summary = lastMessage ?? state.lastMessage ?? "(no summary)"
            state.threadID = nil
            state.prompt =
                "\(prompt)\n\nAn earlier session ran out of context. What it last said:\n\(summary)\n"
                + "The files already hold its work: continue from their current state."
            return recover(.contextFull, failure.message, "start a new thread seeded with a summary")
        default:
            return finish(.failed, "codex turn failed: \(failure.message)", status: status)
        }
    }

    /// After the checks ran on a completed turn.
    mutating func checksRan(_ checks: [CheckResult], cancelled: Bool) -> SessionAction {
        if cancelled { return stopped() }
        let failed = checks.filter { !$0.passed }
        if failed.isEmpty {
            let said = state.turnMessage.map { ": \($0.prefix(200))" } ?? ""
            let turns = "\(state.turns) turn\(state.turns == 1 ? "" : "s")"
            return finish(.succeeded, "codex finished in \(turns)\(said)", status: state.status, checks: checks, output: state.answer)
        }
        state.lastProblem = "check failed: \(failed[0].check): \(failed[0].detail)"
        state.openQuestion = state.turnMessage.flatMap { Self.isQuestion($0) ? $0 : nil }
        guard let question = state.openQuestion else {
            let stopped = StoppedTurn.read(lastMessage: state.turnMessage, actions: state.turnActions)
            let evidence = failed.map { "\($0.check): \($0.detail)" }.joined(separator: "\n")
            state.prompt = stopped.detection == .checksFailed ? Self.notDone(failed) : Self.failing(failed)
            return recover(
                stopped.detection,
                "the turn ended with checks failing: \(stopped.why)\n\(evidence)",
                "repair: continue the same thread with the failing checks",
                then: .repair(checks: checks)
            )
        }
        if let why = HumanQuestion.reason(for: question, risk: risk, askedBefore: state.toldToDecide) {
            // An operator answers, through the inbox, the question as asked; the answer goes on the same thread.
            pending = .answer(question: question, failed: failed, checks: checks)
            return .askHuman(
                Question(kind: .question, text: HumanQuestion.text(question, why: why, failing: failed)),
                report: [AgentEvent(kind: .detected, text: "asks_human: \(question) (to a human: \(why))", detection: .asksHuman)]
            )
        }
        state.toldToDecide = true
        state.prompt =
            "Use your best judgment and decide yourself; do not wait for an answer. Then finish the task.\n" + Self.failing(failed)
        return recover(
            .asksHuman,
            question,
            "answer by policy (risk \(risk?.rawValue ?? "low")): decide and go on",
            then: .repair(checks: checks)
        )
    }

    /// After the coordinator's policy answered a ``SessionAction/recover(_:)``.
    mutating func policyAnswered(_ verdict: RecoveryVerdict) -> SessionAction {
        let (pending, request) = (self.pending, self.request)
        (self.pending, self.request) = (nil, nil)
        if verdict.decision == .recover, let instruction = verdict.instruction, !instruction.isEmpty {
            // Advice: what to do next comes from the advisor (or an operator), instead of the rule's own prompt.
            state.prompt = SessionPrompts.advice(instruction, after: state.prompt)
        }
        guard verdict.decision == .recover else {
            let why = verdict.reason ?? RecoveryVerdict.defaultRefusal
            // The escalation names its evidence: the failing check and its output, the loop, the silence.
            let evidence = request.map { ". Evidence: \($0.evidence.prefix(1500))" } ?? ""
            return escalate("\(request?.detection.rawValue ?? "recovery"): \(why)\(evidence)", status: state.status)
        }
        switch pending {
        case .retry(let delay)?:
            return .continue(after: delay)
        case .repair(let checks)?:
            guard state.threadID != nil else {
                return finish(.failed, state.lastProblem ?? "no thread to continue", status: state.status, checks: checks)
            }
            return .continue()
        case .answer?, nil:
            return .continue()
        }
    }

    /// After an operator answered a ``SessionAction/askHuman(_:report:)``.
    mutating func humanAnswered(_ answer: HumanAnswer) -> SessionAction {
        let pending = self.pending
        self.pending = nil
        guard case .answer(let question, let failed, let checks)? = pending else { return .continue() }
        guard answer.decision != .deny, let text = answer.text ?? (answer.decision == .approve ? "Yes, go ahead." : nil) else {
            return escalate(
                "needs input (risk \(risk?.rawValue ?? "?")): codex asked, and the answer was no: \(question.prefix(300))",
                status: state.status,
                checks: checks
            )
        }
        state.openQuestion = nil
        state.prompt = "The operator answers: \(text)\nGo on with the task.\n" + Self.failing(failed)
        return .continue(report: [AgentEvent(kind: .recovery, text: "continue the thread with the operator's answer")])
    }

    // MARK: - Building actions

    private mutating func recover(
        _ detection: Detection,
        _ evidence: String,
        _ proposal: String,
        after delay: Duration? = nil,
        then next: Pending? = nil
    ) -> SessionAction {
        let request = RecoveryRequest(detection: detection, evidence: evidence, proposal: proposal)
        self.request = request
        pending = next ?? .retry(after: delay)
        return .recover(request)
    }

    /// A limit that resets at a known time: the session ends parked until then (its work is checkpointed as at any
    /// end), reporting the detection with its evidence. The coordinator decides whether to wait that long.
    private func park(until resetsAt: Date, _ failure: TurnFailure, status: Int32) -> SessionAction {
        let at = Int64((resetsAt.timeIntervalSince1970 * 1000).rounded())
        var result = AgentResult(
            outcome: .parked,
            exitCode: status,
            summary: "parked until \(resetsAt.formatted(.iso8601)): \(failure.message)",
            outputTail: state.tail
        )
        result.tokens = state.tokens
        result.usage = state.usage.total > 0 ? state.usage : nil
        result.resumeAt = at
        let detected = AgentEvent(kind: .detected, text: "\(Detection.usageLimit): \(failure.message)", detection: .usageLimit)
        return .park(result, report: [detected])
    }

    /// Codex did not resume the thread the session was to go on: a new thread with the opening prompt (the
    /// handover in it says what happened before), that turn not counted.
    private mutating func notResumed(_ expected: String, _ turn: TurnReport) -> SessionAction {
        state.turns -= 1
        state.threadID = nil
        state.threadUsage = .zero
        state.prompt = prompt
        let what = turn.threadID.map { "it ran on another thread, \($0)" } ?? "codex ran no thread"
        let tail = turn.tail.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300)
        let text =
            "could not resume codex thread \(expected) (\(what)\(tail.isEmpty ? "" : ": \(tail)")): "
            + "a new thread instead, told what happened before"
        return .continue(report: [AgentEvent(kind: .thread, text: text)])
    }

    private func stopped() -> SessionAction {
        finish(.cancelled, "stopped on request", status: state.status)
    }

    /// Only a human can take it further from here.
    private func escalate(_ summary: String, status: Int32?, checks: [CheckResult] = []) -> SessionAction {
        finish(.escalated, summary, status: status, checks: checks)
    }

    private func finish(
        _ outcome: Outcome,
        _ summary: String,
        status: Int32?,
        checks: [CheckResult] = [],
        output: String? = nil
    ) -> SessionAction {
        var result = AgentResult(outcome: outcome, exitCode: status, summary: summary, outputTail: state.tail, checks: checks)
        result.tokens = state.tokens
        result.usage = state.usage.total > 0 ? state.usage : nil
        result.output = output
        return .finish(result)
    }

    // MARK: - Reading messages

    /// The prompt that sends the model back to work on what the checks found.
    static func failing(_ failed: [CheckResult]) -> String {
        var text = "The task is not finished yet: these acceptance checks still fail.\n"
        for check in failed { text += "- \(check.check): \(check.detail)\n" }
        text += "Continue the task until they pass, then stop."
        return text
    }

    /// The prompt for an agent that said it was done while the checks fail.
    static func notDone(_ failed: [CheckResult]) -> String {
        var text = "You said the task is done, but these acceptance checks fail:\n"
        for check in failed { text += "- \(check.check): \(check.detail)\n" }
        text += "Find out why, fix it, and stop only when they pass."
        return text
    }

    /// Whether a final message asks the user something instead of finishing.
    static func isQuestion(_ message: String) -> Bool {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let last = trimmed.split(separator: "\n").last else { return false }
        return last.hasSuffix("?")
    }
}
