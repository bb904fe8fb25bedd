import DroverTransport
import Foundation

/// CURVE keys for a benchmark's coordinator, its simulated workers (one key for all) and its operator, in a temp
/// directory laid out as `docs/security.md` says.
struct BenchKeys {
    let directory: String
    let coordinator: KeyPair
    let worker: KeyPair
    let operatorKeys: KeyPair

    init() throws {
        directory = "/tmp/drover-bench-keys-\(UUID().uuidString.prefix(8))"
        coordinator = try CurveKey.pair()
        worker = try CurveKey.pair()
        operatorKeys = try CurveKey.pair()
        _ = try Certificate.write(coordinator, name: "coordinator", metadata: [], in: directory)
        _ = try Certificate.write(worker, name: "sim", metadata: [], in: "\(directory)/authorized/workers")
        _ = try Certificate.write(operatorKeys, name: "bench", metadata: [], in: "\(directory)/authorized/operators")
        // Only the public keys belong among the authorized ones.
        try FileManager.default.removeItem(atPath: "\(directory)/authorized/workers/sim.key_secret")
        try FileManager.default.removeItem(atPath: "\(directory)/authorized/operators/bench.key_secret")
        try FileManager.default.createDirectory(atPath: "\(directory)/authorized/observers", withIntermediateDirectories: true)
    }

    var coordinatorArguments: [String] {
        ["--secret-key", "\(directory)/coordinator.key_secret", "--authorized-keys", "\(directory)/authorized"]
    }
    var workerSecurity: SocketSecurity { .curveClient(worker, server: coordinator.publicKey) }
    var operatorSecurity: SocketSecurity { .curveClient(operatorKeys, server: coordinator.publicKey) }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
