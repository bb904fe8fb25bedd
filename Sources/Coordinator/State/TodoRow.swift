import DroverProtocol

/// What the state file keeps of one TODO: a row of the `todos` table. Everything else about a TODO is either its
/// plan's (``TodoRecord/spec``) or derived again after a restart.
struct TodoRow: Sendable, Equatable {
    var state: TodoState = .pending
    /// Grows by one on every assignment; stored before the assign is sent.
    var epoch: Int64 = 0
    var leaseID: String?
    var worker: String?
    /// Runs that ended failed or timed out.
    var attempts = 0
    /// Why it is in its state, for people: the last outcome or the reason it was requeued.
    var detail: String?
    /// Recoveries granted so far, by detection, across all sessions of this TODO.
    var recoveries: [String: Int] = [:]
    /// When and how its work went, for `drover review` and the metrics.
    var facts = WorkFacts()
}
