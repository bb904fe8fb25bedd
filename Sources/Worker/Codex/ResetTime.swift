import DroverProtocol
import Foundation

/// When a usage or rate limit resets, read from what codex says about it. Pure: the time and the time zone to read
/// it in are given.
///
/// Codex words a usage limit `You've hit your usage limit. … try again at Mar 17th, 2030 5:46 PM.`, the time in the
/// local time zone of the codex process, with no zone named, and only `5:46 PM` when the reset is on the same local
/// day (`format_retry_timestamp` in codex-rs), the seconds cut off: the reset is taken as the end of that minute, so a
/// TODO never resumes before it (and is not parked again at once). A codex session inherits the worker's environment, so the worker's
/// time zone (`TZ`, or the host's) is the one to read it in. Read in order, the first that says wins:
///
/// | form | source |
/// | --- | --- |
/// | `"resets_at": 1900000000` (epoch seconds) | the server's JSON body, when it reaches Drover (a 400's raw body, details) |
/// | `resets_in_seconds: 90` | the same body's other form |
/// | `try again at Mar 17th, 2030 5:46 PM`, `try again at 5:46 PM` | codex's usage-limit message |
/// | `try again in 0.2s`, `in 1500ms`, `in 6m0s`, `in 1h2m`, `in 20 seconds`, `in 5 minutes` | rate-limit messages |
///
/// `Try again later.` (no plan, no reset known) and anything else say nothing: nil.
public enum ResetTime {
    /// When the limit named in `message` resets, or nil when it does not say.
    public static func read(_ message: String, now: Date, timeZone: TimeZone) -> Date? {
        let text = message.lowercased()
        if let seconds = number(after: "resets_at", in: text) { return Date(timeIntervalSince1970: seconds) }
        if let seconds = number(after: "resets_in_seconds", in: text) { return now.addingTimeInterval(seconds) }
        if let at = clockTime(in: text, now: now, timeZone: timeZone) { return at }
        if let delay = delay(in: text) { return now.addingTimeInterval(Double(delay.milliseconds) / 1000) }
        return nil
    }

    /// "try again in 0.2s", "in 1500ms", "in 6m0s", "in 1h2m3s", "in 20 seconds", "in 5 minutes" → the duration.
    static func delay(in message: String) -> Duration? {
        let text = message.lowercased()
        guard let range = text.range(of: "try again in ") else { return nil }
        var rest = Substring(text[range.upperBound...])
        var total = 0.0
        var read = false
        while true {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number), value >= 0 else { break }
            var after = rest.dropFirst(number.count)
            let spaced = after.first == " "
            if spaced { after = after.dropFirst() }
            let unit = after.prefix { $0.isLetter }
            let scale: Double
            switch unit {
            case "ms", "millisecond", "milliseconds": scale = 0.001
            case "s", "sec", "secs", "second", "seconds": scale = 1
            case "m", "min", "mins", "minute", "minutes": scale = 60
            case "h", "hr", "hrs", "hour", "hours": scale = 3600
            default:
                // A bare number ("try again in 2") is seconds; a number after a unit that is no unit ends it.
                if !read { total = value }
                return .milliseconds(Int64((total * 1000).rounded()))
            }
            total += value * scale
            read = true
            // "6m0s" goes on directly; "1 hour 2 minutes" and "1h, 2m" after a space or a comma.
            rest = after.dropFirst(unit.count).drop { $0 == " " || $0 == "," }
        }
        return read ? .milliseconds(Int64((total * 1000).rounded())) : nil
    }

    /// The number after `key` and its separators (`"key": 12`, `key=12`, `key: 12`).
    private static func number(after key: String, in text: String) -> Double? {
        guard let range = text.range(of: key) else { return nil }
        let rest = text[range.upperBound...].drop { $0 == "\"" || $0 == ":" || $0 == "=" || $0 == " " }
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        return Double(digits).flatMap { $0 > 0 ? $0 : nil }
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// "try again at Mar 17th, 2030 5:46 PM" or "try again at 5:46 PM" (today), in `timeZone`.
    private static func clockTime(in text: String, now: Date, timeZone: TimeZone) -> Date? {
        guard let range = text.range(of: "try again at ") else { return nil }
        var rest = Substring(text[range.upperBound...])
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var parts = calendar.dateComponents([.year, .month, .day], from: now)
        if let month = months.firstIndex(where: { rest.hasPrefix($0) }) {
            // "mar 17th, 2030 "
            rest = rest.drop { $0.isLetter }.drop { $0 == " " }
            let day = rest.prefix { $0.isNumber }
            rest = rest.dropFirst(day.count).drop { $0.isLetter }.drop { $0 == "," || $0 == " " }
            let year = rest.prefix { $0.isNumber }
            rest = rest.dropFirst(year.count).drop { $0 == " " }
            guard let day = Int(day), let year = Int(year), (1...31).contains(day) else { return nil }
            (parts.year, parts.month, parts.day) = (year, month + 1, day)
        }
        // "5:46 pm"
        let hour = rest.prefix { $0.isNumber }
        rest = rest.dropFirst(hour.count)
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst()
        let minute = rest.prefix { $0.isNumber }
        rest = rest.dropFirst(minute.count).drop { $0 == " " }
        guard var hours = Int(hour), let minutes = Int(minute), (1...12).contains(hours), (0...59).contains(minutes) else { return nil }
        if rest.hasPrefix("pm") {
            hours = hours % 12 + 12
        } else if rest.hasPrefix("am") {
            hours %= 12
        } else {
            return nil
        }
        // Codex writes the minute the reset falls in, the seconds cut off: the limit has reset only at its end.
        (parts.hour, parts.minute, parts.second) = (hours, minutes, 0)
        return calendar.date(from: parts)?.addingTimeInterval(60)
    }
}
