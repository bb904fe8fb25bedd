/// One run of a program to its end under a ``GuardedProcess``: its status, whether it hit its time limit, and the
/// tail of its output.
struct ProcessRun {
    var status: Int32
    var timedOut: Bool
    var tail: String

    /// Runs `arguments`, stopping the program on timeout or when the calling task is cancelled.
    /// - Parameter onOutput: every chunk of output, as it is read.
    static func run(
        _ arguments: [String],
        environment: [String: String],
        directory: String,
        timeout: Double?,
        grace: Duration,
        onOutput: @escaping @Sendable (GuardedProcess.Chunk) -> Void = { _ in }
    ) async -> ProcessRun {
        let process: GuardedProcess
        do {
            process = try GuardedProcess(arguments: arguments, environment: environment, directory: directory)
        } catch {
            return ProcessRun(status: 127, timedOut: false, tail: "could not start \(arguments[0]): \(error)")
        }
        let timer: Task<Bool, Never>? = timeout.map { seconds in
            Task {
                do {
                    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                } catch {
                    return false
                }
                process.terminate(grace: grace)
                return true
            }
        }
        let tail = await withTaskCancellationHandler {
            var tail = OutputTail()
            for await chunk in process.output {
                tail.append(chunk.data)
                onOutput(chunk)
            }
            return tail.text
        } onCancel: {
            process.terminate(grace: grace)
        }
        let status = await process.wait()
        timer?.cancel()
        let timedOut = await timer?.value ?? false
        return ProcessRun(status: status, timedOut: timedOut, tail: tail)
    }
}
