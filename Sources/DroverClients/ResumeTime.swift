import DroverProtocol
import Foundation

extension StatusBody.TodoStatus {
    /// For a TODO parked by a usage limit: "resumes at 17:46" (the viewer's local time; with the date when it is not
    /// today), nil for any other.
    public func resumeNote(now: Date = Date(), timeZone: TimeZone = .current) -> String? {
        guard state == .waiting, let resumeAt else { return nil }
        return "resumes at " + Self.clock(resumeAt, now: now, timeZone: timeZone)
    }

    /// `HH:MM` in `timeZone`, after the date (`YYYY-MM-DD HH:MM`) when that is not today there.
    static func clock(_ milliseconds: Int64, now: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let time = String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
        guard !calendar.isDate(date, inSameDayAs: now) else { return time }
        return String(format: "%04d-%02d-%02d ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0) + time
    }
}
