/// The `type` of a work or control message (protocol v1). `docs/protocol.md` has one example of each.
public enum MessageType: String, Codable, Sendable, CaseIterable {
    // Work socket, worker → coordinator.
    case register, accept, reject, progress, report, bye, ask, recover
    // Work socket, coordinator → worker.
    case welcome, assign, control, recovery
    // Both directions.
    case heartbeat, ack, error
    // Control socket (operators): request and reply share the type.
    case status, submit, inbox, answer, events, todo, plan, review, job, policy, merge
    case planReport = "plan_report", rollback
}
