import DroverProtocol

/// What ``Reviewer`` reads: a copy of the coordinator's state at one moment, so the review is a pure function of it.
struct ReviewInput: Sendable {
    struct PlanInfo: Sendable {
        var id: String
        var title: String
        var state: PlanState
        var paused: Bool
    }

    /// One TODO, with its dependencies named by key.
    struct Item: Sendable {
        /// `plan/todo`.
        var key: String
        var plan: String
        var title: String
        var state: TodoState
        var dependsOn: [String]
        var branch: String
        var facts: WorkFacts
        /// Failed attempts plus recoveries granted.
        var repairs: Int
        var detail: String?
        /// The files it may touch (globs): those it declares and those it changed so far (`Todo.filesTouched`).
        var touchedFiles: [String] = []
    }

    /// Wall-clock milliseconds.
    var now: Int64
    var plans: [PlanInfo]
    /// In plan order, then in each plan's order.
    var items: [Item]
    /// Slots of the workers taking work (not draining), and those of them free.
    var slots: Int
    var freeSlots: Int
    var inbox: [InboxItem]
    /// The jobs, oldest first (without their history and artifacts).
    var jobs: [JobView] = []
    /// The integration branch of each plan that has one.
    var integrations: [String: String] = [:]
}
