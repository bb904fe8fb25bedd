import DroverProtocol

extension AgentContext {
    /// Reports a detection (a `detected` event with its evidence), asks the coordinator's policy whether the session
    /// may recover as `request` proposes, and reports what follows: the proposal when it may, `escalate: <why>` when
    /// not (the policy's limit for this kind of trouble is reached). The one way a session asks about a recovery,
    /// between turns (``CodexAgent``) and inside a running one (the app-server driver's steering).
    func consultPolicy(_ request: RecoveryRequest) async -> RecoveryVerdict {
        events([AgentEvent(kind: .detected, text: "\(request.detection): \(request.evidence)", detection: request.detection)])
        let verdict = await recover(request)
        if verdict.decision == .recover {
            events([AgentEvent(kind: .recovery, text: request.proposal)])
        } else {
            events([AgentEvent(kind: .recovery, text: "escalate: \(verdict.reason ?? RecoveryVerdict.defaultRefusal)")])
        }
        return verdict
    }
}

extension RecoveryVerdict {
    /// Why not, when a refusal gives no reason.
    static let defaultRefusal = "the coordinator's policy says stop"
}
