import DroverProtocol
import Foundation

/// An operator's answer to a `permissions` inbox item, made from what was granted of what the item asks for.
public struct PermissionAnswer: Sendable, Equatable {
    /// The grant ids approved.
    public var granted: [String]
    /// The grant ids refused.
    public var refused: [String]
    /// Make the plan again without the refused grants, rather than skip the TODOs that need them.
    public var replan: Bool
    /// Keep the decision as policy for the job's repository.
    public var remember: Bool

    /// The answer that grants `granted` of `asked` (grant ids) and refuses the rest.
    public init(asked: [String], granted: Set<String>, replan: Bool = false, remember: Bool = false) {
        self.granted = asked.filter { granted.contains($0) }
        self.refused = asked.filter { !granted.contains($0) }
        self.replan = replan
        self.remember = remember
    }

    /// The answer's wire body for `item`: every grant approved is `approve` with no list, none is `deny` (the job
    /// ends), some is `approve` with the list (and `replan` when asked).
    public func body(item: String) -> AnswerBody {
        if refused.isEmpty {
            return AnswerBody(item: item, decision: .approve, remember: remember ? true : nil)
        }
        if granted.isEmpty {
            return AnswerBody(item: item, decision: .deny, remember: remember ? true : nil)
        }
        return AnswerBody(item: item, decision: .approve, grants: granted, replan: replan ? true : nil, remember: remember ? true : nil)
    }

    /// The `drover` command that gives this answer to `item` (for a coordinator found through `arguments`, e.g.
    /// `--state-dir DIR`).
    public func command(item: String, arguments: [String] = []) -> String {
        var words: [String]
        if refused.isEmpty {
            words = ["drover", "approve", item]
        } else if granted.isEmpty {
            words = ["drover", "deny", item]
        } else {
            words = ["drover", "answer", item] + granted.flatMap { ["--grant", $0] }
            if replan { words.append("--replan") }
        }
        if remember { words.append("--remember") }
        return (words + arguments).map(ShellWord.quote).joined(separator: " ")
    }
}

/// Shell quoting for commands printed for people to copy.
public enum ShellWord {
    /// `word` as one shell word: as it is when it is plain, else in single quotes.
    public static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSetPlain.contains($0)) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private enum CharacterSetPlain {
        static func contains(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/", ":", "=", "@", "+", ",": return true
            default: return false
            }
        }
    }
}
