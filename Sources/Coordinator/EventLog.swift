public import DroverProtocol
import Foundation

/// Read access to the event log a coordinator keeps in its state file.
public enum EventLog {
    /// Events with a sequence number above `after`, oldest first.
    /// - Throws: when the state file cannot be opened.
    public static func read(statePath: String, after: Int64 = 0, limit: Int = 10_000) throws -> [Event] {
        try Store(path: statePath, readOnly: true).events(after: after, limit: limit)
    }
}

/// Read access to the reports of finalized plans in a coordinator's state file, for when no coordinator runs.
public enum PlanReports {
    /// The report of `plan`; nil when it has none (yet).
    /// - Throws: when the state file cannot be opened or the report not read.
    public static func read(statePath: String, plan: String) throws -> PlanReport? {
        guard let json = try Store(path: statePath, readOnly: true).planReport(plan) else { return nil }
        return try WireCodec().decode(PlanReport.self, from: json)
    }
}
