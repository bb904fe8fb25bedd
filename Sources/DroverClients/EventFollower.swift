import DroverProtocol

/// Follows a coordinator's events with nothing missed: catches up from a sequence number through the control
/// socket, then streams live events, and fills any gap the PUB socket leaves (a slow subscriber drops messages)
/// from the log. Each event is handed over once, in sequence order.
public struct EventFollower: Sendable {
    /// The coordinator's event endpoint.
    public var events: String
    /// The client that fetches what the stream missed from the log.
    public var control: ControlClient

    /// A follower that fetches from the log through `control`, for example a client shared with other requests
    /// (see ``ControlClient/withConnection(endpoint:timeout:isolation:_:)``).
    public init(events: String, control: ControlClient) {
        self.events = events
        self.control = control
    }

    /// A follower that connects to the control endpoint `control` for each page of the log it fetches.
    public init(events: String, control: String) {
        self.init(events: events, control: ControlClient(endpoint: control))
    }

    /// Calls `handle` for every event after `after` (or from the first live one when nil), until the task is
    /// cancelled or `handle` returns false.
    public func follow(after: Int64?, handle: (Event) -> Bool) async throws {
        try await EventSubscriber(endpoint: events, security: control.security).withItems { live in
            try await follow(live, after: after, handle: handle)
        }
    }

    private func follow(_ live: AsyncStream<EventSubscriber.Item>, after: Int64?, handle: (Event) -> Bool) async throws {
        let client = control
        var cursor = after

        /// Hands over the logged events after the cursor, up to `until` (or all there are).
        func catchUp(until: Int64? = nil) async throws -> Bool {
            guard var from = cursor else { return true }
            while true {
                let limit = until.map { Int(min(10_000, max(1, $0 - from))) } ?? 1000
                let page = try await fetch(after: from, limit: limit)
                for event in page.events where event.seq > from {
                    if let until, event.seq > until { return true }
                    guard handle(event) else { return false }
                    from = event.seq
                    cursor = event.seq
                }
                if page.events.isEmpty || from >= (until ?? page.lastSeq) { return true }
            }
        }

        /// A page of the log. A busy coordinator may answer late: the follower asks again (backing off) rather
        /// than give up, since what it missed is still in the log. Refusals are passed on.
        func fetch(after: Int64, limit: Int) async throws -> EventsBody {
            var pause = Duration.milliseconds(100)
            while true {
                do {
                    return try await client.request(.events, EventsRequest(after: after, limit: limit), as: EventsBody.self)
                } catch let error as DroverError where error.code == .noReply {
                    try Task.checkCancellation()
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(2))
                }
            }
        }

        guard try await catchUp() else { return }
        for await item in live {
            let event = item.event
            if let last = cursor, event.seq <= last { continue }  // already handed over during the catch-up
            if let last = cursor, event.seq > last + 1 {
                guard try await catchUp(until: event.seq - 1) else { return }
            }
            guard handle(event) else { return }
            cursor = event.seq
        }
    }
}
