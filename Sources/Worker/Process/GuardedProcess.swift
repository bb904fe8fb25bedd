import CDroverSys
import Foundation
import Synchronization

/// A program running in its own process group under a guardian (see `CDroverSys.h`): its output arrives as an async
/// sequence of chunks, it can be stopped as a group, and it cannot outlive the worker that started it.
public final class GuardedProcess: Sendable {
    /// A piece of output as read from the pipe.
    public struct Chunk: Sendable {
        public enum Stream: String, Sendable { case stdout, stderr }
        public var stream: Stream
        public var data: Data
    }

    /// The guardian's pid, which is also the process group id.
    public let pid: pid_t
    /// Output in the order it was read; ends when the program has exited and its pipes are drained.
    public let output: AsyncStream<Chunk>

    private let state = Mutex(State())

    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
        /// Monotonic deadline after which a terminated group is killed.
        var killAt: ContinuousClock.Instant?
        var inputClosed = false
    }

    /// The write end of the program's stdin, when it was started with `input: true`.
    private let inputFD: Int32

    /// Starts `arguments[0]` (an absolute path) with the rest as its arguments.
    /// - Parameter input: give the program a pipe as stdin, written with ``write(_:)``; otherwise stdin is /dev/null.
    /// - Throws: an `NSError` in the POSIX domain when the pipes or the fork fail.
    public init(arguments: [String], environment: [String: String], directory: String?, input: Bool = false) throws {
        var inPipe: [Int32] = [-1, -1]
        if input {
            // A program that dies while we write to it must give us EPIPE, not kill us with SIGPIPE.
            _ = Glibc.signal(SIGPIPE, SIG_IGN)
            guard drover_pipe_cloexec(&inPipe) == 0 else { throw POSIXError.current("pipe") }
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard drover_pipe_cloexec(&outPipe) == 0 else { throw POSIXError.current("pipe") }
        guard drover_pipe_cloexec(&errPipe) == 0 else {
            close(outPipe[0])
            close(outPipe[1])
            throw POSIXError.current("pipe")
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let pid = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envBuffer in
                drover_spawn_guarded(argvBuffer.baseAddress, envBuffer.baseAddress, directory, inPipe[0], outPipe[1], errPipe[1])
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        if input { close(inPipe[0]) }
        inputFD = inPipe[1]
        guard pid > 0 else {
            if input { close(inPipe[1]) }
            close(outPipe[0])
            close(errPipe[0])
            throw POSIXError.current("fork", code: -pid)
        }
        self.pid = pid
        let (stream, continuation) = AsyncStream.makeStream(of: Chunk.self)
        self.output = stream
        let (out, err) = (outPipe[0], errPipe[0])
        let reader = Thread { [self] in self.pump(out: out, err: err, into: continuation) }
        reader.name = "drover-process-\(pid)"
        reader.start()
    }

    deinit {
        closeInput()
    }

    /// Writes to the program's stdin (only for a process started with `input: true`).
    /// - Throws: when the program has closed its stdin or ended.
    public func write(_ data: Data) throws {
        precondition(inputFD >= 0, "the process was started without input")
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(inputFD, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError.current("write")
                }
                offset += written
            }
        }
    }

    /// Closes the program's stdin; a program that reads it to the end then finishes.
    public func closeInput() {
        let fd = state.withLock { state -> Int32 in
            defer { state.inputClosed = true }
            return state.inputClosed ? -1 : inputFD
        }
        if fd >= 0 { close(fd) }
    }

    /// Asks the whole group to stop (SIGTERM), and kills it (SIGKILL) if it is still there after `grace`.
    public func terminate(grace: Duration = .seconds(2)) {
        let running = state.withLock { state -> Bool in
            guard state.status == nil else { return false }
            state.killAt = state.killAt ?? ContinuousClock.now.advanced(by: grace)
            return true
        }
        if running { kill(-pid, SIGTERM) }
    }

    /// Runs a program to its end; returns its status and its output (stdout and stderr as they came).
    public static func output(
        of arguments: [String],
        in directory: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> (status: Int32, output: String) {
        let process = try GuardedProcess(arguments: arguments, environment: environment, directory: directory)
        var output = ""
        for await chunk in process.output { output += String(decoding: chunk.data, as: UTF8.self) }
        return (await process.wait(), output)
    }

    /// Sends `signal` to the whole process group (the guardian passes on nothing: every member gets it directly).
    public func signal(_ signal: Int32) {
        kill(-pid, signal)
    }

    /// Whether the program has ended.
    public var hasExited: Bool { state.withLock { $0.status != nil } }

    /// Waits for the program to end; returns its exit status, or 128 + the signal that ended it.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// The reader thread: forwards output until the guardian has exited and the pipes are drained or abandoned.
    private func pump(out: Int32, err: Int32, into continuation: AsyncStream<Chunk>.Continuation) {
        var fds = [pollfd(fd: out, events: Int16(POLLIN), revents: 0), pollfd(fd: err, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var exitStatus: Int32?
        while fds.contains(where: { $0.fd >= 0 }) {
            // Once the program has exited, only drain what is already in the pipes (a lingering process outside the
            // group may hold them open, so EOF is not waited for).
            let ready = poll(&fds, nfds_t(fds.count), exitStatus == nil ? 200 : 0)
            if ready <= 0 && exitStatus != nil { break }
            if ready > 0 {
                for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                    let count = read(fds[index].fd, &buffer, buffer.count)
                    if count > 0 {
                        continuation.yield(Chunk(stream: index == 0 ? .stdout : .stderr, data: Data(buffer[0..<count])))
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        close(fds[index].fd)
                        fds[index].fd = -1
                    }
                }
            }
            if exitStatus == nil && drover_has_exited(pid) == 1 {
                // The program is done. Whatever it left running in its group (`cmd &`) goes with it: kill the group
                // while the unreaped guardian still holds its id, then reap.
                kill(-pid, SIGKILL)
                exitStatus = reap(blocking: true)
            }
            let killAt = state.withLock { $0.killAt }
            if exitStatus == nil, let killAt, ContinuousClock.now >= killAt { kill(-pid, SIGKILL) }
        }
        for fd in fds where fd.fd >= 0 { close(fd.fd) }
        let status = exitStatus ?? reap(blocking: true) ?? -1
        continuation.finish()
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    private func reap(blocking: Bool) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        guard result == pid else { return result < 0 ? -1 : nil }
        // The guardian reports a killed program as 128 + signal; the guardian itself can only die by SIGKILL.
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

extension POSIXError {
    static func current(_ operation: String, code: Int32 = errno) -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO, userInfo: [NSLocalizedDescriptionKey: "\(operation) failed"])
    }
}
