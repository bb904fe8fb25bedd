/// `events` on the control socket: the event log from a sequence number on, for an observer that joined late or
/// saw a gap. Request: ``EventsRequest``; reply: ``EventsBody``.
public struct EventsRequest: WireBody, Equatable {
    /// Events with a sequence number above this.
    public var after: Int64
    /// At most this many (1 to 10,000).
    public var limit: Int

    public init(after: Int64, limit: Int = 1000) {
        self.after = after
        self.limit = limit
    }

    public func validate() throws(ProtocolError) {
        try require(after >= 0, "after", "must not be negative")
        try require((1...10_000).contains(limit), "limit", "must be between 1 and 10000")
    }
}

/// The reply to `events`.
public struct EventsBody: WireBody, Equatable {
    enum CodingKeys: String, CodingKey {
        case events, lastSeq = "last_seq"
    }

    public var events: [Event]
    /// The newest sequence number there is; ask again after the last event received while it is higher.
    public var lastSeq: Int64

    public init(events: [Event], lastSeq: Int64) {
        self.events = events
        self.lastSeq = lastSeq
    }

    public static var maxBytes: Int { WireLimits.documentBytes }
    public func validate() throws(ProtocolError) {}
}
