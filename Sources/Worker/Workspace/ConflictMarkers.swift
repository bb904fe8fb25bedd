import DroverProtocol
import Foundation

/// The one home of the rule "no conflict markers left", for a merge the agent resolves (``MergeRepair``): the same
/// search is the agent's check (so the session sees where markers remain and goes on) and the worker's own test
/// before it commits the merge, whatever the agent said.
///
/// It searches the worktree's files as they are on disk, tracked or not (ignored files and binary files left out),
/// with `git grep`, which works the same during a merge, unmerged paths and all.
enum ConflictMarkers {
    /// A line that opens or closes a conflict: seven `<` or `>` at its start, then a space or the line's end.
    /// (`=======` alone is left out: it is an ordinary line in some formats, and never comes without the other two.)
    static let pattern = "^(<<<<<<<|>>>>>>>)( |$)"

    /// `git grep` over the worktree's files, those git tracks and those it does not, ignored and binary ones left
    /// out, with `options` (`-n`: say each line; `-l`: only the files).
    static func search(_ options: [String]) -> [String] {
        ["grep", "--untracked", "-I", "-E"] + options + ["-e", pattern, "--", "."]
    }

    /// The check: passes when no file has a marker (`git grep` exits 1), and fails naming each marker's file and
    /// line, or when git cannot tell (any other status).
    static let check = Check(
        command: (["git"] + search(["-n"])).map(shellWord).joined(separator: " ") + "; test $? -eq 1",
        timeoutSeconds: 120
    )

    /// The files in `worktree` with a conflict marker; throws when git cannot tell.
    static func files(in worktree: String, git: Git) async throws -> [String] {
        let found = try await git.head(["-C", worktree] + search(["-l"]), limit: 64 << 10, success: [0, 1])
        return found.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// `word` as `/bin/sh` reads it: as it is when plain, else in single quotes.
    private static func shellWord(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
