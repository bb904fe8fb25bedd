/// Rules for the ids that travel in topics and on the wire (plans, TODOs, workers).
///
/// Ids may hold letters, digits, `_` and `-`, start with a letter or digit, and are at most 64 characters. No dots:
/// event topics are dot-separated (`todo.<plan>.<todo>`), so a dot in an id would break prefix filtering.
public enum Identifier {
    public static let maxLength = 64

    /// Whether `id` follows the rules.
    public static func isValid(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= maxLength, isAlphanumeric(first) else { return false }
        return id.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Why `id` is not valid, in words for an error message; nil when it is valid.
    public static func problem(with id: String) -> String? {
        if id.isEmpty { return "is empty" }
        if id.utf8.count > maxLength { return "is longer than \(maxLength) characters" }
        if !isValid(id) {
            return "\"\(id)\" may only contain letters, digits, '_' and '-', and must start with a letter or digit"
        }
        return nil
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
