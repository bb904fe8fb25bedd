/// The file globs of a TODO's `files` (`Sources/API/*.swift`, `docs/**`, `README.md`), and whether two sets of them
/// may name the same file: what conflict-aware scheduling keeps apart.
///
/// `*` matches within one path segment, `**` across segments, `?` one character. Two patterns may overlap when a
/// path can match both; without a way to enumerate paths this is decided conservatively: a literal path against a
/// pattern is matched exactly, two patterns overlap when their literal prefixes (up to the first wildcard) agree.
public enum FileGlob {
    /// Whether some file may be named by a pattern of `a` and a pattern of `b`.
    public static func mayOverlap(_ a: [String], _ b: [String]) -> Bool {
        a.contains { left in b.contains { right in mayOverlap(left, right) } }
    }

    /// The patterns of `a` that may name a file of `b`, for saying why.
    public static func overlapping(_ a: [String], _ b: [String]) -> [String] {
        a.filter { left in b.contains { right in mayOverlap(left, right) } }
    }

    static func mayOverlap(_ a: String, _ b: String) -> Bool {
        let a = normalized(a)
        let b = normalized(b)
        switch (isLiteral(a), isLiteral(b)) {
        case (true, true): return a == b
        case (true, false): return matches(a, b)
        case (false, true): return matches(b, a)
        case (false, false):
            let left = literalPrefix(a)
            let right = literalPrefix(b)
            return left.hasPrefix(right) || right.hasPrefix(left)
        }
    }

    /// Whether `path` matches `pattern`.
    public static func matches(_ path: String, _ pattern: String) -> Bool {
        match(Array(normalized(path).utf8), 0, Array(normalized(pattern).utf8), 0)
    }

    private static func match(_ path: [UInt8], _ p: Int, _ pattern: [UInt8], _ q: Int) -> Bool {
        if q == pattern.count { return p == path.count }
        let star = UInt8(ascii: "*")
        let slash = UInt8(ascii: "/")
        if pattern[q] == star {
            let deep = q + 1 < pattern.count && pattern[q + 1] == star
            let next = deep ? q + 2 : q + 1
            // `**/` also matches no directory at all.
            if deep, next < pattern.count, pattern[next] == slash, match(path, p, pattern, next + 1) { return true }
            var i = p
            while true {
                if match(path, i, pattern, next) { return true }
                guard i < path.count, deep || path[i] != slash else { return false }
                i += 1
            }
        }
        guard p < path.count else { return false }
        if pattern[q] == UInt8(ascii: "?") { return path[p] != slash && match(path, p + 1, pattern, q + 1) }
        return path[p] == pattern[q] && match(path, p + 1, pattern, q + 1)
    }

    private static func isLiteral(_ pattern: String) -> Bool { !pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) }

    private static func literalPrefix(_ pattern: String) -> String {
        String(pattern.prefix { $0 != "*" && $0 != "?" && $0 != "[" })
    }

    /// Without a leading `./`.
    private static func normalized(_ path: String) -> String { path.hasPrefix("./") ? String(path.dropFirst(2)) : path }
}
