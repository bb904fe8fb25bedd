import DroverProtocol

/// How an operator names what to answer: an inbox item's id (`build-01-q1`), or the TODO that waits
/// (`PLAN/TODO`), when exactly one item of it is open.
public enum InboxReference {
    /// The inbox item `reference` names; asks the coordinator when it names a TODO.
    /// - Throws: ``DroverError`` (`not_found`) saying what is open when the TODO has no item, or several.
    public static func resolve(_ reference: String, client: ControlClient) async throws -> String {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return reference }  // an item id: the coordinator says if it is unknown
        let items = try await client.request(.inbox, EmptyBody(), as: InboxBody.self).items.filter {
            $0.plan == parts[0] && $0.todo == parts[1]
        }
        switch items.count {
        case 1:
            return items[0].id
        case 0:
            throw DroverError(.notFound, "nothing of \(reference) waits in the inbox (see `drover inbox`)")
        default:
            throw DroverError(
                .notFound,
                "\(reference) has \(items.count) open inbox items (\(items.map(\.id).joined(separator: ", "))): name one"
            )
        }
    }
}
