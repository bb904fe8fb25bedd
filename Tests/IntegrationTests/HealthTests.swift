import Coordinator
import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Logging
import ServiceLifecycle
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The probes a Kubernetes kubelet calls on the dashboard's server: `/healthz` (liveness) and `/readyz` (readiness),
/// through a real coordinator, with keys laid out as Kubernetes mounts them, and against a control socket that
/// never answers.
@Suite(.timeLimit(.minutes(2)))
struct HealthTests {
    func get(_ url: String) async throws -> (status: Int, body: String, type: String) {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.value(forHTTPHeaderField: "Content-Type") ?? "")
    }

    @Test func aRunningCoordinatorIsLiveAndReady() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let base = try #require(cluster.dashboard)
            let live = try await get(base + "healthz")
            #expect(live.status == 200)
            #expect(live.body == "ok\n")
            #expect(live.type.hasPrefix("text/plain"))
            let ready = try await get(base + "readyz")
            #expect(ready.status == 200)
            #expect(ready.body == "ready\n")
            #expect(ready.type.hasPrefix("text/plain"))
        }
    }

    /// The coordinator as deploy/kubernetes runs it: its secret key copied as 0400, the authorized keys a folder per
    /// role the way the kubelet writes a ConfigMap volume (`..data` a link to a hidden folder, each key a link into
    /// it, a key's bare Z85 text as the file), the dashboard on every interface. It is ready (its dashboard reaches
    /// the control socket with the coordinator's own key), and a worker with the key registers.
    @Test func aCoordinatorWithKeysMountedAsKubernetesDoesIsReadyAndAdmitsItsWorkers() async throws {
        try await Cluster.with { cluster in
            let keys = "\(cluster.directory)/keys"
            for (name, role) in [("coordinator", "coordinator"), ("worker", "worker")] {
                let made = try cluster.start("keygen-\(name)", ["keygen", name, "--role", role, "--dir", keys])
                #expect(try await made.wait(timeout: .seconds(60)) == 0, "\(made.output)")
            }
            let secret = "\(cluster.directory)/run/coordinator.key_secret"
            try FileManager.default.createDirectory(atPath: "\(cluster.directory)/run", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(keys)/coordinator.key_secret", toPath: secret)
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: secret)
            let authorized = "\(cluster.directory)/authorized"
            let workers = "\(authorized)/workers"
            let hidden = "\(workers)/..2026_11_26_12_00_00.000000001"
            try FileManager.default.createDirectory(atPath: hidden, withIntermediateDirectories: true)
            let workerKey = try Certificate.readPublic(at: "\(keys)/worker.key").publicKey
            try Data(workerKey.z85.utf8).write(to: URL(fileURLWithPath: "\(hidden)/worker.key"))
            try FileManager.default.createSymbolicLink(atPath: "\(workers)/..data", withDestinationPath: "..2026_11_26_12_00_00.000000001")
            try FileManager.default.createSymbolicLink(atPath: "\(workers)/worker.key", withDestinationPath: "..data/worker.key")
            try FileManager.default.createDirectory(atPath: "\(authorized)/operators", withIntermediateDirectories: true)
            let coordinatorKey = try Certificate.readPublic(at: "\(keys)/coordinator.key").publicKey
            cluster.clientSecurity = .curveClient(try Certificate.readSecret(at: secret), server: coordinatorKey)

            try await cluster.startCoordinator(extra: ["--secret-key", secret, "--authorized-keys", authorized, "--http", "0.0.0.0:0"])
            let base = try #require(cluster.dashboard)
            let ready = try await get(base.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1") + "readyz")
            #expect(ready.status == 200, "\(ready.body)")
            #expect(ready.body == "ready\n")
            try cluster.startWorker(
                "drover-worker-5d8f7b9c6-x2x7q",
                extra: ["--secret-key", "\(keys)/worker.key_secret", "--coordinator-key", "\(keys)/coordinator.key"]
            )
            let status = try await cluster.waitForStatus("the worker to register") { $0.workers.count == 1 }
            #expect(status.workers.first?.id == "drover-worker-5d8f7b9c6-x2x7q")
        }
    }

    /// A control socket that never answers: the server is live, and not ready, saying why.
    @Test func aControlSocketThatDoesNotAnswerIsLiveButNotReady() async throws {
        // Nothing listens on port 1: ZeroMQ keeps trying to connect, and no request is ever answered.
        let silent = "tcp://127.0.0.1:1"
        var logger = Logger(label: "health-test")
        logger.logLevel = .error
        let (urls, found) = AsyncStream.makeStream(of: String.self)
        let dashboard = DashboardService(
            host: "127.0.0.1",
            port: 0,
            metrics: CoordinatorMetrics(),
            logger: logger,
            coordinator: Endpoints(work: silent, events: silent, control: silent),
            readinessTimeout: .milliseconds(300),
            onListening: { found.yield($0) }
        )
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [dashboard], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var listening = urls.makeAsyncIterator()
            let base = try #require(await listening.next())
            let live = try await get(base + "healthz")
            #expect(live.status == 200)
            #expect(live.body == "ok\n")
            let ready = try await get(base + "readyz")
            #expect(ready.status == 503)
            #expect(ready.body == "not ready: the coordinator's control socket did not answer within 0.3 seconds\n")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
