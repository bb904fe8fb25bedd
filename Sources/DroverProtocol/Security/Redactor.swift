import Foundation

/// Takes secrets out of text before Drover stores or publishes it: API keys, bearer tokens, private keys, cloud
/// credentials and `NAME=value` settings of secret-looking names, found by their formats; and the values of the
/// secrets the process knows (its secret environment variables), found by value.
///
/// One home for the rule. Workers apply it to every message they send (so a secret never leaves the worker) and the
/// coordinator to every message a worker sends it, before either is decoded, stored or logged. It works on JSON text
/// too: no pattern takes a backslash or a quote into a secret, so a redaction never breaks an escape or a string.
public struct Redactor: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The known secret values (at least ``minimumSecretLength`` characters each), longest first.
    public let knownSecrets: [String]

    /// Values shorter than this are not treated as secrets (they would match too much).
    public static let minimumSecretLength = 8

    /// The names of environment variables whose values are secrets even without a secret-looking name.
    public static let secretVariables: Set<String> = [
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GOOGLE_API_KEY", "HF_TOKEN", "NPM_TOKEN", "CODEX_API_KEY",
    ]

    /// - Parameter knownSecrets: values to take out wherever they appear.
    public init(knownSecrets: [String] = []) {
        let usable = Set(knownSecrets.filter { $0.count >= Self.minimumSecretLength })
        self.knownSecrets = usable.sorted { $0.count > $1.count || ($0.count == $1.count && $0 < $1) }
    }

    /// The secrets of an environment: the variables of ``secretVariables``, those named in `names`, and every one
    /// whose name says it holds a secret (`…_TOKEN`, `…_SECRET`, `…_PASSWORD`, `…_API_KEY`, `…_SECRET_KEY`).
    public static func secrets(in environment: [String: String], names: [String] = []) -> [String] {
        let named = Set(names).union(secretVariables)
        let suffixes = ["_TOKEN", "_SECRET", "_PASSWORD", "_API_KEY", "_SECRET_KEY", "_ACCESS_KEY"]
        return environment.compactMap { name, value in
            let upper = name.uppercased()
            guard named.contains(name) || suffixes.contains(where: upper.hasSuffix) else { return nil }
            return value.count >= minimumSecretLength ? value : nil
        }
    }

    // MARK: - Redacting

    /// `text` with every secret replaced by `[REDACTED]` (a pattern's finds keep what names them: `Bearer`, `NAME=`).
    public func redact(_ text: String) -> String {
        var result = text
        for secret in knownSecrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.marker)
        }
        let bytes = Array(result.utf8)
        if Self.mayHaveFormat(bytes) {
            for pattern in Self.formats { result = pattern.apply(to: result) }
        }
        if Self.mayHaveSetting(Array(result.utf8)) { result = Self.setting.apply(to: result) }
        return result
    }

    /// The same, for a frame of JSON text: unchanged (the same bytes) when it holds no secret.
    public func redact(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        let hasKnown = knownSecrets.contains { secret in Self.contains(bytes, Array(secret.utf8)) }
        guard hasKnown || Self.mayHaveFormat(bytes) || Self.mayHaveSetting(bytes) else { return data }
        let text = String(decoding: bytes, as: UTF8.self)
        let redacted = redact(text)
        return redacted == text ? data : Data(redacted.utf8)
    }

    /// Never the secrets: a configuration printed in a debug log must not carry them.
    public var description: String { "Redactor(\(knownSecrets.count) known secrets)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["knownSecrets": knownSecrets.count]) }

    /// Whether `text` holds a secret the redactor would take out.
    public func finds(in text: String) -> Bool { redact(text) != text }

    static let marker = "[REDACTED]"

    // MARK: - Patterns

    private struct Pattern: @unchecked Sendable {  // NSRegularExpression is immutable and documented thread-safe
        let regex: NSRegularExpression
        let template: String

        init(_ source: String, _ template: String = Redactor.marker, caseInsensitive: Bool = false) {
            regex = try! NSRegularExpression(pattern: source, options: caseInsensitive ? [.caseInsensitive] : [])
            self.template = template
        }

        func apply(to text: String) -> String {
            regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
    }

    /// The formats of secrets, most specific first. Value classes never take `\`, `"` or `'`, which keeps JSON valid.
    private static let formats: [Pattern] = [
        Pattern(#"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----"#, "[REDACTED private key]"),
        Pattern(#"(secret-key\s*=\s*\\?"?)[0-9A-Za-z.:+=^!/*?&<>()\[\]{}@%$#-]{40}"#, "$1[REDACTED]"),
        Pattern(#"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"#),
        Pattern(#"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,})"#),
        Pattern(#"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
        Pattern(#"\bxox[abposr]-[A-Za-z0-9-]{10,}"#),
        Pattern(#"\bAIza[0-9A-Za-z_-]{35}"#),
        Pattern(#"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#),
        Pattern(#"\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}"#, "$1[REDACTED]", caseInsensitive: true),
    ]

    /// Byte strings one of which every format's find contains: text with none of them is not searched.
    private static let formatTriggers: [[UInt8]] = [
        "PRIVATE KEY", "secret-key", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "AKIA", "ASIA",
        "xox", "AIza", "eyJ", "earer", "EARER",
    ].map { Array($0.utf8) }

    /// NAME=value and NAME: value, for names that say they hold a secret; a value is 8 or more characters with a letter
    /// in it (so `max_tokens: 4096` stays).
    private static let setting = Pattern(
        #"\b([A-Za-z0-9_.-]*(?:secret|token|passwd|password|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)(\s*[:=]\s*)(\\?["']?)(?=[^\s"'\\,;]*[A-Za-z])[^\s"'\\,;]{8,}"#,
        "$1$2$3[REDACTED]",
        caseInsensitive: true
    )

    /// The words of ``setting``'s names, lowercase.
    private static let settingWords: [[UInt8]] = [
        "secret", "token", "passwd", "password", "apikey", "api_key", "api-key", "accesskey", "access_key", "access-key",
        "privatekey", "private_key", "private-key",
    ].map { Array($0.utf8) }

    private static func mayHaveFormat(_ bytes: [UInt8]) -> Bool {
        formatTriggers.contains { contains(bytes, $0) }
    }

    /// Whether a setting's word is followed, after more name characters and spaces, by `:` or `=`, as ``setting``
    /// needs: JSON's own `"tokens":` is not (a quote comes first), so most messages are not searched.
    private static func mayHaveSetting(_ bytes: [UInt8]) -> Bool {
        func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95 || byte == 46
                || byte == 45
        }
        for word in settingWords {
            guard word.count <= bytes.count else { continue }
            var index = 0
            while index <= bytes.count - word.count {
                var matched = true
                for offset in 0..<word.count where lower(bytes[index + offset]) != word[offset] {
                    matched = false
                    break
                }
                if matched {
                    var next = index + word.count
                    while next < bytes.count, isNameByte(bytes[next]) { next += 1 }
                    while next < bytes.count, bytes[next] == 32 || bytes[next] == 9 { next += 1 }
                    if next < bytes.count, bytes[next] == 58 || bytes[next] == 61 { return true }
                }
                index += 1
            }
        }
        return false
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= bytes.count else { return false }
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first {
                var matched = true
                for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            index += 1
        }
        return false
    }
}
