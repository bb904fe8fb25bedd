public import DroverProtocol

/// Read access to the event log a coordinator keeps in its state file.
public enum EventLog {
    /// Events with a sequence number above `after`, oldest first.
    /// - Throws: when the state file cannot be opened.
    public static func read(statePath: String, after: Int64 = 0, limit: Int = 10_000) throws -> [Event] {
        try Store(path: statePath, readOnly: true).events(after: after, limit: limit)
    }
}
