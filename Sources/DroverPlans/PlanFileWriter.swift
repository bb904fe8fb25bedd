import DroverProtocol
import Foundation

/// Writes a ``Plan`` as a plan file, in the YAML that ``PlanLoader`` reads back to the same plan.
///
/// Text that could be misread is quoted: a value is written plain only when it is a simple word or phrase (letters,
/// digits, spaces inside, `_ . / - + = @`); text of several lines is a literal block scalar (`|`) when it can be one,
/// else a double-quoted string with escapes, as is any other text.
public enum PlanFileWriter {
    /// The plan as YAML, ending with a newline.
    public static func yaml(_ plan: Plan) -> String {
        var out = Output()
        out.field("id", plan.id, indent: 0)
        if plan.title != plan.id { out.field("title", plan.title, indent: 0) }
        if let repository = plan.repository { out.field("repository", repository, indent: 0) }
        if let base = plan.base { out.field("base", base, indent: 0) }
        if let context = plan.context { out.field("context", context, indent: 0) }
        if let schedule = plan.schedule {
            out.line("schedule:")
            out.raw("overlap", YAMLText.scalar(schedule.overlap.rawValue, indent: 2), indent: 2)
        }
        if let checks = plan.integrationChecks {
            if checks.isEmpty {
                out.line("integration_checks: []")
            } else {
                out.line("integration_checks:")
                for check in checks { out.check(check, indent: 4) }
            }
        }
        if plan.todos.isEmpty {
            out.line("todos: []")
        } else {
            out.line("todos:")
            for todo in plan.todos { out.todo(todo) }
        }
        return out.text
    }

    /// The text being written, line by line.
    private struct Output {
        var text = ""

        mutating func line(_ line: String) { text += line + "\n" }

        mutating func field(_ key: String, _ value: String, indent: Int, prefix: String? = nil) {
            let lead = prefix ?? String(repeating: " ", count: indent)
            text += lead + key + ": " + YAMLText.scalar(value, indent: indent) + "\n"
        }

        mutating func raw(_ key: String, _ value: String, indent: Int, prefix: String? = nil) {
            text += (prefix ?? String(repeating: " ", count: indent)) + key + ": " + value + "\n"
        }

        mutating func todo(_ todo: Todo) {
            // `  - id: …`: the TODO's fields sit at column 4.
            let indent = 4
            field("id", todo.id, indent: indent, prefix: "  - ")
            if todo.title != todo.id { field("title", todo.title, indent: indent) }
            if let prompt = todo.prompt { field("prompt", prompt, indent: indent) }
            if let command = todo.command { field("command", command, indent: indent) }
            if !todo.dependsOn.isEmpty { raw("depends_on", YAMLText.list(todo.dependsOn), indent: indent) }
            if !todo.labels.isEmpty { raw("labels", YAMLText.list(todo.labels), indent: indent) }
            if !todo.checks.isEmpty {
                line("    checks:")
                for check in todo.checks { self.check(check) }
            }
            if todo.risk != .low { raw("risk", todo.risk.rawValue, indent: indent) }
            if let budget = todo.budget {
                var parts: [String] = []
                if let wall = budget.wallSeconds { parts.append("wall_seconds: \(YAMLText.number(wall))") }
                if let turns = budget.turns { parts.append("turns: \(turns)") }
                if let tokens = budget.tokens { parts.append("tokens: \(tokens)") }
                if let cost = budget.cost { parts.append("cost: \(YAMLText.number(cost))") }
                raw("budget", "{" + parts.joined(separator: ", ") + "}", indent: indent)
            }
            if let timeout = todo.timeoutSeconds { raw("timeout", YAMLText.number(timeout), indent: indent) }
            if todo.maxAttempts != 1 { raw("max_attempts", String(todo.maxAttempts), indent: indent) }
            if let permissions = todo.permissions {
                if permissions.sandbox == nil, permissions.network == nil, permissions.writable.isEmpty {
                    raw("permissions", "{}", indent: indent)
                } else {
                    line("    permissions:")
                    if let sandbox = permissions.sandbox { field("sandbox", sandbox, indent: indent + 2) }
                    if let network = permissions.network { raw("network", network ? "true" : "false", indent: indent + 2) }
                    if !permissions.writable.isEmpty { raw("writable", YAMLText.list(permissions.writable), indent: indent + 2) }
                }
            }
            if let files = todo.files { raw("files", YAMLText.list(files), indent: indent) }
            if let minutes = todo.estimateMinutes { raw("estimate_minutes", YAMLText.number(minutes), indent: indent) }
        }

        /// A check as a list item whose fields sit at column `indent` (8 in a TODO, 4 at the top).
        mutating func check(_ check: Check, indent: Int = 8) {
            var prefix: String? = String(repeating: " ", count: indent - 2) + "- "
            func next() -> String? {
                defer { prefix = nil }
                return prefix
            }
            if let command = check.command { field("command", command, indent: indent, prefix: next()) }
            if let file = check.file { field("file", file, indent: indent, prefix: next()) }
            if let pattern = check.pattern { field("pattern", pattern, indent: indent, prefix: next()) }
            if let timeout = check.timeoutSeconds { raw("timeout", YAMLText.number(timeout), indent: indent, prefix: next()) }
            if let prefix { line(prefix + "{}") }
        }
    }
}

/// YAML scalars written so that any YAML reader reads back the same text.
enum YAMLText {
    /// `text` as a YAML value after `key: ` at column `indent`: plain, a literal block, or double-quoted.
    static func scalar(_ text: String, indent: Int) -> String {
        if isPlain(text) { return text }
        if let block = literalBlock(text, indent: indent) { return block }
        return doubleQuoted(text)
    }

    /// A flow list of scalars: `[a, "b c"]`.
    static func list(_ items: [String]) -> String {
        "[" + items.map { isPlain($0) ? $0 : doubleQuoted($0) }.joined(separator: ", ") + "]"
    }

    /// A number as YAML reads it back: whole numbers without a fraction.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Words YAML 1.1 reads as something other than text.
    private static let reserved: Set<String> = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"]

    /// Whether `text` can be written as it is: a letter, `/` or `_` first, then letters, digits, `_ . / - + = @`
    /// and single spaces, not ending in a space, and not a word YAML reads as a boolean or null.
    static func isPlain(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !text.hasSuffix(" "), !text.contains("  "),
            !reserved.contains(text.lowercased())
        else { return false }
        guard isASCIILetter(first) || first == "/" || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            isASCIILetter(scalar) || ("0"..."9").contains(scalar) || " _./-+=@".unicodeScalars.contains(scalar)
        }
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    /// Whether YAML may hold `scalar` as it is in a literal block (printable, and no line break but `\n`).
    private static func isBlockSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return true
        case 0x20...0x7E: return true
        // U+2028 and U+2029 are line breaks to YAML 1.1 readers.
        case 0xA0...0xD7FF: return scalar.value != 0x2028 && scalar.value != 0x2029
        case 0xE000...0xFFFD: return scalar.value != 0xFEFF
        case 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    /// `text` as a literal block scalar (`|`, `|-` or `|+`, with an indentation indicator when its first line starts
    /// with blanks), its lines at `indent + 2`; nil when it cannot be one.
    static func literalBlock(_ text: String, indent: Int) -> String? {
        guard text.contains("\n"), text.unicodeScalars.allSatisfy(isBlockSafe) else { return nil }
        var lines = text.components(separatedBy: "\n")
        // The first line sets the indentation: it must have something on it.
        guard let first = lines.first, first.contains(where: { $0 != " " && $0 != "\t" }) else { return nil }
        var trailing = 0
        while lines.count > 1, lines.last == "" {
            lines.removeLast()
            trailing += 1
        }
        // Blank lines at the end belong to the chomping; lines of blanks there would be read as content.
        guard let last = lines.last, last.contains(where: { $0 != " " && $0 != "\t" }) || trailing == 0 else { return nil }
        let chomping = trailing == 0 ? "-" : trailing == 1 ? "" : "+"
        let indicator = first.first == " " || first.first == "\t" ? "2" : ""
        let pad = String(repeating: " ", count: indent + 2)
        var block = "|" + indicator + chomping
        for line in lines { block += "\n" + (line.isEmpty ? "" : pad + line) }
        for _ in 0..<max(0, trailing - 1) { block += "\n" }
        return block
    }

    /// `text` double-quoted, with every character YAML could misread escaped.
    static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let value = scalar.value
                let printable =
                    (0x20...0x7E).contains(value) || (0xA0...0xD7FF).contains(value)
                    || ((0xE000...0xFFFD).contains(value) && value != 0xFEFF) || value >= 0x10000
                if printable && value != 0x2028 && value != 0x2029 {
                    out.unicodeScalars.append(scalar)
                } else if value <= 0xFFFF {
                    out += "\\u" + hex(value, width: 4)
                } else {
                    out += "\\U" + hex(value, width: 8)
                }
            }
        }
        return out + "\""
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
