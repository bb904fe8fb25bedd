import DroverClients
import DroverTransport
import Foundation
import Worker

/// A `drover coordinator` child process on loopback tcp with durable SQLite state in a temp directory.
struct BenchCoordinator {
    let process: GuardedProcess
    let endpoints: Endpoints
    let directory: String
    /// The dashboard's URL (`http://127.0.0.1:PORT/`).
    let dashboard: String
    /// The coordinator's control socket; within ``with(_:)``, one connection shared by every request.
    var control: ControlClient

    static func start(extra: [String] = []) async throws -> BenchCoordinator {
        let directory = "/tmp/drover-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = try GuardedProcess(
            arguments: [
                droverPath, "coordinator", "--work", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                "--control", "tcp://127.0.0.1:*", "--state-dir", "\(directory)/state", "--log-level", "error", "--http", "127.0.0.1:0",
            ] + extra,
            environment: ProcessInfo.processInfo.environment,
            directory: directory
        )
        var text = ""
        for await chunk in process.output {
            text += String(decoding: chunk.data, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let dashboard = text.split(separator: "\n").first(where: { $0.hasPrefix("dashboard ") })?.split(separator: " ")[1]
            {
                var endpoints = Endpoints()
                for field in line.split(separator: " ") {
                    let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count != 2 { continue }
                    if parts[0] == "work" { endpoints.work = parts[1] }
                    if parts[0] == "events" { endpoints.events = parts[1] }
                    if parts[0] == "control" { endpoints.control = parts[1] }
                }
                // Keep draining its output so it never blocks on a full pipe.
                Task { for await _ in process.output {} }
                return BenchCoordinator(
                    process: process,
                    endpoints: endpoints,
                    directory: directory,
                    dashboard: String(dashboard),
                    control: ControlClient(endpoint: endpoints.control, timeout: .seconds(30))
                )
            }
        }
        throw BenchError("the coordinator exited before listening: \(text)")
    }

    /// Runs `body` with a fresh coordinator, and stops it and removes its directory afterwards, also on errors.
    /// - Parameter keys: CURVE keys for every socket, or none.
    static func with<T>(keys: BenchKeys? = nil, _ body: (BenchCoordinator) async throws -> T) async throws -> T {
        var coordinator = try await start(extra: keys?.coordinatorArguments ?? [])
        do {
            let result = try await ControlClient.withConnection(
                endpoint: coordinator.endpoints.control,
                timeout: .seconds(30),
                security: keys?.operatorSecurity ?? .none
            ) { client in
                coordinator.control = client
                return try await body(coordinator)
            }
            await coordinator.stop()
            return result
        } catch {
            await coordinator.stop()
            throw error
        }
    }

    /// User plus system CPU seconds the coordinator process (the guardian's child) has used.
    func cpuSeconds() -> Double {
        guard let children = try? String(contentsOfFile: "/proc/\(process.pid)/task/\(process.pid)/children", encoding: .utf8),
            let child = children.split(separator: " ").first,
            let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the name: state is [0]; utime and stime are the 14th and 15th fields of the line.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() async {
        process.signal(SIGKILL)
        _ = await process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static var droverPath: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("drover").path
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds, checking every `interval`, up to `timeout`.
func awaitCondition(timeout: Duration, interval: Duration = .milliseconds(5), _ what: String, _ condition: () async throws -> Bool)
    async throws
{
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw BenchError("timed out waiting for \(what)")
}
