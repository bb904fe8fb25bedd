import DroverProtocol

/// Where a merge task starts, decided from where its integration branch is found on the remote: on the commit it
/// was expected at, or from the base when it does not exist yet and none was expected. Anything else is either the
/// merge itself, applied by an earlier lease whose report was lost (the TODO's branch is in the integration branch
/// already: it is never applied twice), or someone else's move, which is reported and left alone.
enum MergeStart: Equatable, Sendable {
    /// The integration branch does not exist and none was expected: it is made from the base.
    case fromBase
    /// The integration branch is at the commit expected: the merge goes on top of it.
    case onto(String)
    /// The integration branch moved on, with the TODO's branch in it: merged already, at `head`.
    case merged(head: String)
    /// The integration branch is not where it was expected (`head`: where it is; nil when it does not exist).
    case moved(head: String?, detail: String)

    /// - Parameters:
    ///   - head: the integration branch's commit on the remote; nil when the remote has no such branch.
    ///   - branchMerged: whether the TODO's branch exists and is in the history of `head`.
    static func decide(_ spec: MergeSpec, head: String?, branchMerged: Bool) -> MergeStart {
        switch (head, spec.expect) {
        case (nil, nil):
            return .fromBase
        case (nil, let expected?):
            return .moved(head: nil, detail: "\(spec.integration) does not exist, but was expected at \(short(expected))")
        case (let head?, let expected) where head == expected:
            return .onto(head)
        case (let head?, let expected):
            if branchMerged { return .merged(head: head) }
            let expectation = expected.map { "at \(short($0))" } ?? "not to exist yet"
            return .moved(
                head: head,
                detail: "\(spec.integration) is at \(short(head)), but was expected \(expectation), and \(spec.branch) is not in it"
            )
        }
    }

    /// A commit as people read it: its first seven digits.
    static func short(_ commit: String) -> String { String(commit.prefix(7)) }
}
