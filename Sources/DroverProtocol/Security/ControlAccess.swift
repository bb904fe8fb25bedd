/// Which control requests change nothing: what an observer's key may ask. Everything else needs an operator's.
///
/// One home for the rule: the coordinator asks it of every request on a keyed control socket, and a new request type
/// is an operator's until it is listed here.
public enum ControlAccess {
    /// Whether a request of `type` with `body` only reads. `body` is the decoded request, when the type has one.
    public static func isReadOnly(_ type: MessageType, _ body: (any WireBody)?) -> Bool {
        switch type {
        case .status, .events, .inbox, .review: return true
        case .planReport: return (body as? ReportRequest)?.ai != true  // an AI review starts a session
        case .job: return [.list, .show].contains((body as? JobRequest)?.action)
        case .todo: return (body as? TodoRequest)?.action == .show
        case .policy: return (body as? PolicyRequest)?.action == .list
        case .rollback: return (body as? RollbackRequest)?.step == .check
        default: return false
        }
    }

    /// The role a request needs: observer for one that only reads, else operator.
    public static func roleNeeded(_ type: MessageType, _ body: (any WireBody)?) -> Role {
        isReadOnly(type, body) ? .observer : .operator
    }
}
