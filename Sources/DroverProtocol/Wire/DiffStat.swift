/// How much a TODO's branch changed since it started, as `git diff --numstat` counts it: for its report and the
/// plan's report.
public struct DiffStat: Codable, Sendable, Equatable {
    public var files: Int
    /// Lines added (binary files count none).
    public var insertions: Int
    /// Lines removed.
    public var deletions: Int

    public init(files: Int, insertions: Int, deletions: Int) {
        self.files = files
        self.insertions = insertions
        self.deletions = deletions
    }

    /// `2 files, +12 −3`.
    public var summary: String { "\(files) file\(files == 1 ? "" : "s"), +\(insertions) −\(deletions)" }

    /// Reads `git diff --numstat` (or `git log --numstat`) output: `added<TAB>removed<TAB>path` a line, `-` for a
    /// binary file's counts; a path named in several commits counts once among the files.
    public static func numstat(_ output: String) -> (stat: DiffStat, files: [String]) {
        var files = Set<String>()
        var insertions = 0
        var deletions = 0
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[2].isEmpty else { continue }
            insertions += Int(fields[0]) ?? 0
            deletions += Int(fields[1]) ?? 0
            files.insert(String(fields[2]))
        }
        return (DiffStat(files: files.count, insertions: insertions, deletions: deletions), files.sorted())
    }
}
