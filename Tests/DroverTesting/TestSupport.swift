import Foundation
import Testing

/// A fresh directory under the system's temporary directory; call ``remove()`` when done.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let template = FileManager.default.temporaryDirectory.path + "/drover-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        path = String(cString: made)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The next element of `stream`, or nil when none comes within `timeout` (or the stream ends).
///
/// On a timeout the waiting `next()` is cancelled, which ends an `AsyncStream` for good: use it where a timeout is a
/// failure.
public func next<Element: Sendable>(_ stream: AsyncStream<Element>, within timeout: Duration) async -> Element? {
    await withTaskGroup(of: Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// The next element of `stream` that satisfies `predicate`, skipping others, or nil after `timeout`.
public func next<Element: Sendable>(
    _ stream: AsyncStream<Element>,
    within timeout: Duration,
    where predicate: (Element) -> Bool
) async -> Element? {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        guard let element = await next(stream, within: ContinuousClock.now.duration(to: deadline)) else { return nil }
        if predicate(element) { return element }
    }
    return nil
}

/// Runs `operation` in a task of its own and waits for it at most `timeout`; nil when it did not finish in time.
///
/// For waits that cannot be cancelled: the operation is left running if it overruns.
public func value<Value: Sendable>(within timeout: Duration, of operation: @escaping @Sendable () async -> Value) async -> Value? {
    let (stream, continuation) = AsyncStream.makeStream(of: Value.self)
    Task {
        continuation.yield(await operation())
        continuation.finish()
    }
    return await next(stream, within: timeout)
}

/// The one bounded wait of the tests: tries `attempt` every `interval` until it gives a value, for at most `timeout`;
/// nil when time ran out (or the task was cancelled). Use it where no event can be awaited instead.
public func poll<Value>(
    within timeout: Duration,
    every interval: Duration = .milliseconds(20),
    _ attempt: () async throws -> Value?
) async rethrows -> Value? {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if let value = try await attempt() { return value }
        guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
        try? await Task.sleep(for: interval)
    }
}

/// Waits until `condition` holds, checking every 10 ms for at most `timeout`; returns whether it held.
public func eventually(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    await poll(within: timeout, every: .milliseconds(10)) { condition() ? true : nil } ?? false
}

/// Whether no process `pid` is running any more: it does not exist, or is a zombie nobody has reaped yet (a container's
/// pid 1 may not reap orphans).
public func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) == -1 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // The state follows the command name in parentheses: "1234 (sleep) Z ...".
    guard let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

/// The pid written into `path` by a test command, once the file holds one.
public func pid(in path: String, within timeout: Duration = .seconds(10)) async -> pid_t? {
    var found: pid_t?
    _ = await eventually(within: timeout) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        found = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
        return found != nil
    }
    return found
}

/// Runs git in `directory` with a test identity (commits need one), its output thrown away; throws when it fails.
public func git(_ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    if process.terminationStatus != 0 { throw GitFailed(arguments: arguments, directory: directory) }
}

/// A git command of a test failed.
public struct GitFailed: Error, CustomStringConvertible {
    public var arguments: [String]
    public var directory: String
    public var description: String { "git \(arguments.joined(separator: " ")) failed in \(directory)" }
}
