import Foundation

/// A codex release, as `codex --version` prints it (`codex-cli 0.163.0`), and the releases Drover supports: the one
/// home of the range (docs/codex-versions.md says why the floor is where it is, and what differs between releases).
public struct CodexVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    /// The first `N.N.N` in `text`: `0.163.0`, `codex-cli 0.163.0`, `codex-cli 0.164.0-alpha.2` (a pre-release counts
    /// as its release). Nil when there is none.
    public init?(_ text: String) {
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            let release = word.drop { !$0.isNumber }.prefix { $0.isNumber || $0 == "." }
            let parts = release.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, let major = Int(parts[0]), let minor = Int(parts[1]), let patch = Int(parts[2]) else { continue }
            self.init(major, minor, patch)
            return
        }
        return nil
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (left: CodexVersion, right: CodexVersion) -> Bool {
        (left.major, left.minor, left.patch) < (right.major, right.minor, right.patch)
    }

    /// The oldest release Drover supports: the first on PyPI (`openai-codex-cli-bin`, the only way Drover installs
    /// codex) whose app-server always reports the end of a command (its `item/completed`), and before the end of its
    /// turn. 0.144.4 and 0.136.0 may never report the end of a command run after an approval, and 0.133.0 can report a
    /// command's end after its turn's: the turn then seems to have run no command (an agent that said it was done is
    /// taken for one that stopped early), and a command seemingly still running hides a hang. CI runs the codex
    /// scenario suites against this release (`scripts/test-codex-versions`) as well as the newest.
    public static let floor = CodexVersion(0, 147, 0)
    /// The newest release the scenario suites were run against. Newer ones are supported (codex's JSON only grows new
    /// fields, and Drover ignores what it does not know), but not yet seen.
    public static let newestTested = CodexVersion(0, 163, 0)
    /// The releases Drover supports. No upper bound: see ``newestTested``.
    public static let supported: PartialRangeFrom<CodexVersion> = floor...

    public var isSupported: Bool { Self.supported.contains(self) }
    /// Newer than any release the scenario suites were run against.
    public var isNewerThanTested: Bool { self > Self.newestTested }

    /// The range in words, for messages.
    public static var supportedDescription: String { "\(floor) or later (tested with \(floor) and \(newestTested))" }
    /// The command that installs a supported codex.
    public static var installCommand: String { "pip install --upgrade 'openai-codex-cli-bin>=\(floor)'" }

    /// What `executable --version` says, and the release in it: nil when it cannot be run, fails or names no release.
    public static func of(executable: String) async -> (output: String, version: CodexVersion?) {
        guard let (status, output) = try? await GuardedProcess.output(of: [executable, "--version"], in: nil) else {
            return ("cannot start \(executable)", nil)
        }
        let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
        return (text, status == 0 ? CodexVersion(text) : nil)
    }
}
