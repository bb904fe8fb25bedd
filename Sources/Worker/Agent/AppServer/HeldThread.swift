import Foundation

/// `thread/resume` of a thread that another codex process has loaded: codex (0.147 and 0.163 alike) refuses with
/// `-32600` "thread <id> already has an active writer", and a `turn/start` then finds no thread; `codex exec resume`
/// exits 1 saying the same on stderr. Retrying cannot help while that process runs, so the turn fails with a text
/// that names the thread and what to do.
enum HeldThread {
    /// The failure text when an `exec resume` of `thread` ended with `output` saying another process holds the thread.
    static func failure(resuming thread: String, output: String) -> String? {
        let line = output.split(separator: "\n").last { $0.contains(refusal) }
        return line.flatMap { failure(resuming: thread, error: $0.trimmingCharacters(in: .whitespaces)) }
    }

    private static let refusal = "already has an active writer"

    /// The failure text when `error` (what `thread/resume` of `thread` threw) says another process holds the thread;
    /// nil for any other error.
    static func failure(resuming thread: String, error: String) -> String? {
        guard error.contains(refusal) else { return nil }
        return "thread \(thread) is held by another codex process (codex: \(error)). Another codex app-server that shares "
            + "this CODEX_HOME has the thread loaded: stop that process (it may be a session that did not end), then "
            + "retry the TODO; or retry it on a new thread."
    }
}
