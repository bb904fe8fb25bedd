import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The exclusive lock on a state directory (`flock` on `<dir>/coordinator.lock`): a coordinator holds it for its
/// whole life, and so does a command that writes the state with no coordinator running (`drover rollback` on the
/// state directory of a finished run). So one state file has one writer: a second coordinator on the same
/// directory, or an offline command beside a running coordinator, is refused with who holds it.
///
/// The kernel releases the lock when its holder's descriptor closes, on ``release()`` or when the process ends in any
/// way (SIGKILL included), so a crash leaves no stale lock behind. The file itself stays; it holds the holder's pid
/// and what it is, for the message of whoever is refused.
public final class StateDirectoryLock: Sendable {
    /// The lock file's name in a state directory.
    public static let fileName = "coordinator.lock"

    /// Someone else holds the lock.
    public struct Held: Error, Sendable, CustomStringConvertible {
        /// The state directory.
        public let directory: String
        /// The holder's process id, when it could be read.
        public let pid: Int32?
        /// What the holder said it is (`coordinator`, `drover rollback`), when it could be read.
        public let holder: String?

        /// "a coordinator (pid 1234)", or as much of it as is known.
        public var who: String {
            let what = holder.map { $0 == "coordinator" ? "a coordinator" : "`\($0)`" } ?? "another process"
            return what + (pid.map { " (pid \($0))" } ?? "")
        }

        public var description: String { "\(directory) is in use by \(who)" }
    }

    /// The lock file.
    public let path: String
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Takes the lock of `directory`, which must exist, without waiting.
    /// - Parameter holder: what takes it (`coordinator`, `drover rollback`), written in the file with the pid.
    /// - Throws: ``Held`` when another process (or another open of the file in this one) holds it; `POSIXError` when
    ///   the file cannot be opened.
    public static func acquire(in directory: String, holder: String) throws -> StateDirectoryLock {
        let path = "\(directory)/\(fileName)"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            close(descriptor)
            guard failure == EWOULDBLOCK else { throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO) }
            throw heldError(directory: directory, path: path)
        }
        let lock = StateDirectoryLock(path: path, descriptor: descriptor)
        let text = "\(getpid()) \(holder)\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return lock
    }

    /// Gives the lock up; later calls do nothing.
    public func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            close(descriptor)
            descriptor = -1
        }
    }

    /// Who holds the lock, as its file says (it may be being written: then what is known).
    private static func heldError(directory: String, path: String) -> Held {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        return Held(
            directory: directory,
            pid: parts.first.flatMap { Int32($0) },
            holder: parts.count == 2 ? parts[1] : nil
        )
    }
}
