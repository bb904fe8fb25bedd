import Coordinator
import DroverClients
import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation

/// A coordinator and workers as real `drover` processes in a temp directory, for one test.
///
/// Use ``Cluster/with(transport:_:)``: it always ends every process by PID and removes the directory.
final class Cluster {
    enum Transport: String, CaseIterable, Sendable { case tcp, ipc }

    let directory: String
    let transport: Transport
    private(set) var coordinator: TestProcess?
    private(set) var endpoints: Endpoints?
    /// The coordinator's dashboard URL (`http://127.0.0.1:PORT/`).
    private(set) var dashboard: String?
    private(set) var workers: [String: TestProcess] = [:]
    private var ended: [TestProcess] = []
    /// Other `drover` processes of the test (observers, operators' commands), ended with the cluster.
    private var others: [TestProcess] = []

    private init(transport: Transport) throws {
        // ipc paths must stay short (sun_path is about 107 bytes), so the directory lives in /tmp.
        directory = "/tmp/drover-test-\(UUID().uuidString.prefix(8))"
        self.transport = transport
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    static func with<T>(transport: Transport = .tcp, _ body: (Cluster) async throws -> T) async throws -> T {
        let cluster = try Cluster(transport: transport)
        do {
            let result = try await body(cluster)
            await cluster.shutdown()
            return result
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    var stateDir: String { "\(directory)/state" }

    /// Starts (or restarts, on the same endpoints and state) the coordinator.
    @discardableResult
    func startCoordinator(extra: [String] = []) async throws -> Endpoints {
        let requested: Endpoints
        if let endpoints {
            requested = endpoints
        } else if transport == .ipc {
            requested = Endpoints.ipc(in: directory)
        } else {
            requested = Endpoints(work: "tcp://127.0.0.1:*", events: "tcp://127.0.0.1:*", control: "tcp://127.0.0.1:*")
        }
        let process = try TestProcess(
            name: "coordinator",
            arguments: [
                "coordinator", "--work", requested.work, "--events", requested.events, "--control", requested.control,
                "--state-dir", stateDir, "--log-level", "warning", "--http", "127.0.0.1:0",
            ] + extra,
            directory: directory
        )
        let line = try await process.waitForLine(containing: "listening work=")
        var bound = Endpoints()
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "work": bound.work = parts[1]
            case "events": bound.events = parts[1]
            case "control": bound.control = parts[1]
            default: break
            }
        }
        coordinator = process
        endpoints = bound
        dashboard = try await process.waitForLine(containing: "dashboard http").split(separator: " ")[1].description
        return bound
    }

    /// Starts a worker process connected to the coordinator.
    @discardableResult
    func startWorker(_ id: String, slots: Int = 1, extra: [String] = []) throws -> TestProcess {
        guard let endpoints else { throw TestFailure("start the coordinator first") }
        let process = try TestProcess(
            name: id,
            arguments: [
                "worker", "--id", id, "--coordinator", endpoints.work, "--slots", "\(slots)", "--workdir", directory,
                "--log-level", "warning",
            ] + extra,
            directory: directory
        )
        workers[id] = process
        return process
    }

    /// Starts another `drover` command in the cluster directory; it is ended with the cluster.
    func start(_ name: String, _ arguments: [String]) throws -> TestProcess {
        try startCommand(name, [TestProcess.droverPath] + arguments)
    }

    /// Starts any program in the cluster directory (`command[0]` is its path); it is ended with the cluster.
    func startCommand(_ name: String, _ command: [String]) throws -> TestProcess {
        let process = try TestProcess(name: name, command: command, directory: directory)
        others.append(process)
        return process
    }

    /// SIGKILLs the coordinator (to restart it with ``startCoordinator(extra:)``).
    func killCoordinator() async {
        guard let coordinator else { return }
        await coordinator.kill()
        ended.append(coordinator)
        self.coordinator = nil
    }

    func killWorker(_ id: String) async {
        guard let worker = workers.removeValue(forKey: id) else { return }
        await worker.kill()
        ended.append(worker)
    }

    /// The keys the test's own client connects with, when the coordinator has keys.
    var clientSecurity: SocketSecurity = .none

    var control: ControlClient {
        ControlClient(endpoint: endpoints.map(\.control) ?? "", timeout: .seconds(10), security: clientSecurity)
    }

    func submit(_ plan: Plan) async throws {
        _ = try await control.request(.submit, SubmitBody(plan: plan), as: SubmittedBody.self)
    }

    func status() async throws -> StatusBody {
        try await control.request(.status, EmptyBody(), as: StatusBody.self)
    }

    /// Polls the status until `condition` holds, up to `timeout`.
    @discardableResult
    func waitForStatus(
        timeout: Duration = .seconds(60),
        _ what: String,
        _ condition: (StatusBody) -> Bool
    ) async throws -> StatusBody {
        var last: StatusBody?
        let met = try await poll(within: timeout, every: .milliseconds(50)) { () async throws -> StatusBody? in
            let status = try await self.status()
            last = status
            return condition(status) ? status : nil
        }
        if let met { return met }
        let workerOutput = workers.map { "--- \($0.key):\n\($0.value.output.suffix(1500))" }.joined(separator: "\n")
        throw TestFailure(
            "timed out waiting for \(what); last status: \(last.map { "\($0.plans) \($0.todos.filter { $0.state != .done })" } ?? "none")\n"
                + "--- coordinator:\n\(coordinator?.output.suffix(1500) ?? "")\n\(workerOutput)"
        )
    }

    @discardableResult
    func waitForPlan(_ id: String, toBe state: PlanState = .done, timeout: Duration = .seconds(90)) async throws -> StatusBody {
        try await waitForStatus(timeout: timeout, "plan \(id) to be \(state)") { status in
            status.plans.first { $0.id == id }?.state == state
        }
    }

    /// The event log from the state file.
    func events() throws -> [Event] {
        try EventLog.read(statePath: "\(stateDir)/state.sqlite")
    }

    /// Lines of a file in the cluster directory (the side effects TODO commands write).
    func lines(of file: String) -> [String] {
        let text = (try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    private func shutdown() async {
        for process in [coordinator].compactMap({ $0 }) + Array(workers.values) + others {
            await process.kill()
        }
        coordinator = nil
        workers.removeAll()
        // A worker's git child can still be writing as it dies (a merge under way at the end of a test), and a
        // removal that meets a file made meanwhile stops half done: remove until nothing is left.
        let directory = self.directory
        _ = await eventually(within: .seconds(10)) {
            try? FileManager.default.removeItem(atPath: directory)
            return !FileManager.default.fileExists(atPath: directory)
        }
    }
}
