import DroverProtocol

/// Asks a coordinator for a finished plan's AI review (`plan_report` with `ai`) and waits for it to end, following
/// the event stream: the reviewer's TODO as it is assigned and runs (told to `progress`), then `plan.reviewed`. Used
/// by `drover plan report PLAN --ai` and `drover run … --ai`.
public struct AIReviewFollower: Sendable {
    /// The client for the requests, and for filling gaps in the stream.
    public var control: ControlClient
    /// The coordinator's event endpoint.
    public var events: String

    public init(control: ControlClient, events: String) {
        self.control = control
        self.events = events
    }

    /// Asks for the review of `plan` and returns its report once the review has ended (done or failed), or at once
    /// when it had ended before. Throws ``DroverError/Code-swift.struct/timedOut`` after `timeout`; the review goes on
    /// without the caller, and asking again later waits for the same one.
    public func review(_ plan: String, timeout: Duration, progress: @escaping @Sendable (String) -> Void) async throws -> PlanReport {
        // The events from here on: `plan.reviewed` cannot come before the request that starts the review.
        let seq = try await control.request(.status, EmptyBody(), as: StatusBody.self).seq
        let report = try await control.request(.planReport, ReportRequest(plan: plan, ai: true), as: PlanReport.self)
        guard let review = report.aiReview, review.state == .running else { return report }
        progress("AI review of plan \(plan): \(review.plan)/\(review.todo) asked for")
        let follower = EventFollower(events: events, control: control)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await follower.follow(after: seq) { event in
                    if event.type == .planReviewed && event.plan == plan { return false }
                    if event.plan == review.plan && event.todo == review.todo, let line = Self.progress(event) {
                        progress("AI review of plan \(plan): \(line)")
                    }
                    return true
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw DroverError(
                    .timedOut,
                    "the AI review of plan \(plan) did not end within \(timeout.components.seconds) s; it goes on: "
                        + "`drover plan report \(plan) --ai` later waits for it again, `drover status` shows \(review.plan)"
                )
            }
        }
        return try await control.request(.planReport, ReportRequest(plan: plan), as: PlanReport.self)
    }

    /// A line for a reviewer's TODO event worth telling, nil for the rest.
    static func progress(_ event: Event) -> String? {
        switch event.type {
        case .todoAssigned: "assigned to \(event.worker ?? "a worker")"
        case .todoRunning: "running on \(event.worker ?? "its worker")"
        case .todoRequeued: "back in the queue: \(event.data["reason"]?.stringValue ?? "its lease ended")"
        case .todoParked: "parked by a usage limit: \(event.data["evidence"]?.stringValue ?? "")"
        case .todoResumed: "its usage limit reset: back in the queue"
        case .todoDone, .todoFailed, .todoEscalated, .todoCancelled:
            "\(event.type.rawValue.dropFirst("todo.".count)): \(event.data["summary"]?.stringValue ?? "")"
        default:
            event.type.subject == "agent" && event.data["detection"] != nil
                ? "\(event.data["detection"]?.stringValue ?? ""): \(event.data["text"]?.stringValue ?? "")" : nil
        }
    }
}
