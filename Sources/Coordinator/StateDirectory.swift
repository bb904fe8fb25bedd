public import DroverProtocol
import Foundation
public import Logging

/// A coordinator's state directory worked on with no coordinator running, as after `drover run` ended: its lock
/// taken, its state loaded into a ``CoordinatorCore`` as a restart does (no sockets, no ticks), operators' requests
/// answered by the same rules a running coordinator applies, and each change committed to `state.sqlite`, with its
/// events in the event log and the audit log (`audit.jsonl` beside it).
///
/// The lock (``StateDirectoryLock``) is held from ``open(_:holder:logger:)`` to ``close()``: no coordinator can start
/// on the directory meanwhile, and the directory is refused while one runs.
///
/// ```swift
/// let state = try StateDirectory.open(".drover", holder: "drover rollback")
/// defer { state.close() }
/// let check = try state.operate(RollbackRequest(plan: "release", step: .check, tag: nil))
/// ```
public final class StateDirectory {
    /// The directory.
    public let path: String
    private let lock: StateDirectoryLock
    private let audit: AuditLog
    private let core: CoordinatorCore

    private init(path: String, lock: StateDirectoryLock, audit: AuditLog, core: CoordinatorCore) {
        self.path = path
        self.lock = lock
        self.audit = audit
        self.core = core
    }

    /// Opens the state in `path` and takes its lock until ``close()``.
    /// - Parameter holder: what opens it (`drover rollback`), said to whoever is refused meanwhile.
    /// - Throws: ``StateDirectoryError`` when there is no directory or no state in it, or when a coordinator (or
    ///   another command) holds it; the store's error when the state cannot be read.
    public static func open(_ path: String, holder: String, logger: Logger = Logger(label: "drover.state")) throws -> StateDirectory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StateDirectoryError.noDirectory(path)
        }
        let statePath = "\(path)/state.sqlite"
        guard FileManager.default.fileExists(atPath: statePath) else { throw StateDirectoryError.noState(path) }
        let lock: StateDirectoryLock
        do {
            lock = try StateDirectoryLock.acquire(in: path, holder: holder)
        } catch let held as StateDirectoryLock.Held {
            throw StateDirectoryError.inUse(held)
        }
        let configuration = CoordinatorConfiguration(statePath: statePath, auditLogPath: "\(path)/audit.jsonl")
        let audit = AuditLog(path: "\(path)/audit.jsonl")
        let core = try CoordinatorCore(
            configuration: configuration,
            store: try Store(path: statePath),
            logger: logger,
            audit: audit,
            now: 0,
            announce: false
        )
        return StateDirectory(path: path, lock: lock, audit: audit, core: core)
    }

    /// The ids of the plans in the state, in no order.
    public var plans: [String] { Array(core.todos.plans.keys) }

    /// Answers a rollback request as the coordinator would (``RollbackRequest/Step/check`` changes nothing;
    /// ``RollbackRequest/Step/record`` marks what it undoes not integrated and records `merge.rolled_back`), and
    /// commits what changed.
    /// - Throws: ``StateDirectoryError`` when the plan is not in the state; ``ProtocolError`` (`rejected`) when the
    ///   rule refuses the request; the store's error when the commit fails.
    public func operate(_ request: RollbackRequest) throws -> RollbackReply {
        guard core.todos.plans[request.plan] != nil else {
            throw StateDirectoryError.noPlan(request.plan, in: path, plans: plans.sorted())
        }
        let reply = try core.operate(request)
        _ = try core.commit()
        return reply
    }

    /// Writes what is left of the audit log and gives the lock up. The state is not used after.
    public func close() {
        audit.flush()
        lock.release()
    }
}

/// Why a state directory cannot be worked on.
public enum StateDirectoryError: Error, Sendable, CustomStringConvertible {
    /// There is no such directory.
    case noDirectory(String)
    /// The directory has no `state.sqlite`.
    case noState(String)
    /// A coordinator (or another command) holds the directory's lock.
    case inUse(StateDirectoryLock.Held)
    /// The plan is not in the state.
    case noPlan(String, in: String, plans: [String])

    public var description: String {
        switch self {
        case .noDirectory(let path):
            return "there is no state directory \(path): pass the --state-dir the coordinator or `drover run` used (default .drover)"
        case .noState(let path):
            return "\(path) holds no state (no state.sqlite): pass the --state-dir the coordinator or `drover run` used"
        case .inUse(let held):
            return "\(held): it cannot be changed beside it; ask the coordinator instead"
        case .noPlan(let plan, let path, let plans):
            let known = plans.isEmpty ? "it has none" : "its plans are \(plans.prefix(20).joined(separator: ", "))"
            return "plan \(plan) is not in \(path): \(known)"
        }
    }
}
