import Foundation
import Testing

/// A fresh directory under the system's temporary directory; call ``remove()`` when done.
struct TemporaryDirectory {
    let path: String

    init() throws {
        let template = FileManager.default.temporaryDirectory.path + "/drover-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        path = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The next element of `stream`, or nil when none comes within `timeout` (or the stream ends).
///
/// On a timeout the waiting `next()` is cancelled, which ends an `AsyncStream` for good: use it where a timeout is a
/// failure.
func next<Element: Sendable>(_ stream: AsyncStream<Element>, within timeout: Duration) async -> Element? {
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
func next<Element: Sendable>(
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
func value<Value: Sendable>(within timeout: Duration, of operation: @escaping @Sendable () async -> Value) async -> Value? {
    let (stream, continuation) = AsyncStream.makeStream(of: Value.self)
    Task {
        continuation.yield(await operation())
        continuation.finish()
    }
    return await next(stream, within: timeout)
}
