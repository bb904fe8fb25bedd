import DroverClients
import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// CURVE keys through real processes on tcp: `drover keygen`, a coordinator with authorized keys by role, workers and
/// clients with keys, and the refusals a stranger, an observer and a removed worker meet.
@Suite(.timeLimit(.minutes(3)))
struct SecurityTests {
    /// Runs a `drover` command in the cluster to its end; returns its status and its output (stdout and stderr).
    private func drover(_ cluster: Cluster, _ name: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try cluster.start(name, arguments)
        let status = try await process.wait(timeout: .seconds(60))
        return (status, process.output)
    }

    @Test func keysAdmitEachRoleToItsSocketsAndARemovedWorkerKeyHandsItsTodoOn() async throws {
        try await Cluster.with { cluster in
            let keys = "\(cluster.directory)/keys"
            let authorized = "\(cluster.directory)/authorized"
            for (name, role) in [
                ("coordinator", "coordinator"), ("w1", "worker"), ("w2", "worker"), ("op", "operator"), ("obs", "observer"),
                ("stranger", "operator"),
            ] {
                let made = try await drover(cluster, "keygen-\(name)", ["keygen", name, "--role", role, "--dir", keys])
                #expect(made.status == 0, "\(made.output)")
            }
            for (name, folder) in [("w1", "workers"), ("w2", "workers"), ("op", "operators"), ("obs", "observers")] {
                try FileManager.default.createDirectory(atPath: "\(authorized)/\(folder)", withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: "\(keys)/\(name).key", toPath: "\(authorized)/\(folder)/\(name).key")
            }
            let coordinatorKey = try Certificate.readPublic(at: "\(keys)/coordinator.key").publicKey
            cluster.clientSecurity = .curveClient(try Certificate.readSecret(at: "\(keys)/op.key_secret"), server: coordinatorKey)
            let endpoints = try await cluster.startCoordinator(extra: [
                "--secret-key", "\(keys)/coordinator.key_secret", "--authorized-keys", authorized,
            ])
            func keyed(_ name: String) -> [String] {
                ["--secret-key", "\(keys)/\(name).key_secret", "--coordinator-key", "\(keys)/coordinator.key"]
            }

            // A TODO that runs until the test lets it finish, on w1.
            try cluster.startWorker("w1", extra: keyed("w1"))
            try cluster.startWorker("w3", extra: keyed("stranger"))
            try await cluster.submit(
                Plan(
                    id: "p",
                    title: "p",
                    todos: [
                        Todo(
                            id: "long",
                            command: "echo $$ > pid.$DROVER_EPOCH; while [ ! -f go ]; do sleep 0.05; done; echo $DROVER_EPOCH >> who"
                        )
                    ]
                )
            )
            try await cluster.waitForStatus("long to run on w1") { status in
                status.todos.contains { $0.id == "long" && $0.state == .running && $0.worker == "w1" }
            }

            // An observer reads, and may not change anything.
            let controlFlags = ["--control", endpoints.control, "--events", endpoints.events]
            let watching = try await drover(cluster, "obs-status", ["status", "--json"] + controlFlags + keyed("obs"))
            #expect(watching.status == 0 && watching.output.contains("\"long\""), "\(watching.output)")
            try "id: q\ntodos:\n  - id: x\n    command: 'true'\n".write(
                toFile: "\(cluster.directory)/q.yaml",
                atomically: true,
                encoding: .utf8
            )
            let submitting = try await drover(cluster, "obs-submit", ["plan", "submit", "q.yaml"] + controlFlags + keyed("obs"))
            #expect(submitting.status != 0)
            #expect(submitting.output.contains("forbidden") && submitting.output.contains("observer"), "\(submitting.output)")

            // A key the coordinator does not know gets nothing, and is told what to check.
            let stranger = try await drover(cluster, "stranger-status", ["status"] + controlFlags + keyed("stranger"))
            #expect(stranger.status != 0)
            #expect(stranger.output.contains("refused this client's key"), "\(stranger.output)")
            // Nor can it subscribe to the events: its handshakes on the event socket are refused (counted below).
            let listener = try cluster.start(
                "stranger-events",
                ["events", "--follow", "--topic", "todo", "--json"] + controlFlags + keyed("stranger")
            )
            // No keys at all: nothing either.
            let bare = try await drover(cluster, "bare-status", ["status"] + controlFlags)
            #expect(bare.status != 0)

            // w1's key is removed while it runs the TODO: w1 is dropped, and the TODO finishes on w2.
            try cluster.startWorker("w2", extra: keyed("w2"))
            try await cluster.waitForStatus("w2 to register") { $0.workers.contains { $0.id == "w2" } }
            try FileManager.default.removeItem(atPath: "\(authorized)/workers/w1.key")
            try await cluster.waitForStatus("long to move to w2") { status in
                status.todos.contains { $0.id == "long" && $0.worker == "w2" } && !status.workers.contains { $0.id == "w1" }
            }
            // w1 hears of it at its next message, and stops its command: its lease is not its own any more.
            let firstPID = try #require(await pid(in: "\(cluster.directory)/pid.1"))
            _ = try await cluster.workers["w1"]?.waitForLine(containing: "refused this worker's key")
            #expect(await eventually(within: .seconds(20)) { isGone(firstPID) }, "w1 stopped the TODO's command")
            // Then its connection is cut, and its reconnects are refused in the handshake.
            let coordinator = try #require(cluster.coordinator)
            let w1 = try Certificate.readPublic(at: "\(keys)/w1.key").publicKey.fingerprint
            let refusedAgain = await eventually(within: .seconds(20)) {
                coordinator.output.split(separator: "\n").contains { $0.contains("refused a connection") && $0.contains(w1) }
            }
            #expect(refusedAgain, "\(coordinator.output.suffix(3000))")
            #expect(try await cluster.status().counters["connections_cut"] == 1, "w1's one connection, on the work socket")
            #expect(FileManager.default.createFile(atPath: "\(cluster.directory)/go", contents: Data()))
            let done = try await cluster.waitForPlan("p")
            // Only the second lease's command finished: w1, refused, stopped its own.
            #expect(cluster.lines(of: "who") == ["2"])
            #expect(!done.workers.contains { $0.id == "w3" }, "the stranger never registered")
            let lost = try cluster.events().filter { $0.type == .workerLost }
            #expect(lost.contains { $0.data["reason"]?.stringValue?.contains("was removed from the authorized keys") == true })

            // The refusals are counted by socket and reason.
            let dashboard = try #require(cluster.dashboard)
            let url = try #require(URL(string: dashboard + "metrics"))
            let eventsRefused = #"drover_auth_refused_total{socket="events",reason="unknown_key"}"#
            let metrics =
                try await poll(within: .seconds(20), every: .milliseconds(200)) { () async throws -> String? in
                    let text = String(decoding: try await URLSession.shared.data(from: url).0, as: UTF8.self)
                    return text.contains(eventsRefused) ? text : nil
                } ?? ""
            #expect(metrics.contains(eventsRefused), "the stranger's subscription was refused")
            #expect(!listener.output.contains("\"seq\""), "the stranger received no event: \(listener.output)")
            #expect(metrics.contains(#"drover_auth_refused_total{socket="work",reason="unknown_key"}"#), "\(metrics)")
            #expect(metrics.contains(#"drover_auth_refused_total{socket="control",reason="unknown_key"}"#))
        }
    }

    /// An observer's key removed while it follows the events: every subscriber's connection is cut (a PUB socket
    /// cannot tell them apart), the operator's follower reconnects and misses nothing, the observer hears no more.
    @Test func aRemovedObserverStopsReceivingEventsAndTheOtherSubscribersCarryOn() async throws {
        try await Cluster.with { cluster in
            let keys = "\(cluster.directory)/keys"
            let authorized = "\(cluster.directory)/authorized"
            var pairs: [String: KeyPair] = [:]
            for (name, folder) in [("coordinator", nil), ("op", "operators"), ("obs", "observers")] {
                let pair = try CurveKey.pair()
                pairs[name] = pair
                let written = try Certificate.write(pair, name: name, metadata: [], in: keys)
                if let folder {
                    try FileManager.default.createDirectory(atPath: "\(authorized)/\(folder)", withIntermediateDirectories: true)
                    try FileManager.default.copyItem(atPath: written.public, toPath: "\(authorized)/\(folder)/\(name).key")
                }
            }
            let coordinatorKey = try #require(pairs["coordinator"]).publicKey
            cluster.clientSecurity = .curveClient(try #require(pairs["op"]), server: coordinatorKey)
            let endpoints = try await cluster.startCoordinator(extra: [
                "--secret-key", "\(keys)/coordinator.key_secret", "--authorized-keys", authorized,
            ])
            func follower(_ name: String) throws -> TestProcess {
                try cluster.start(
                    "\(name)-events",
                    [
                        "events", "--follow", "--json", "--events", endpoints.events, "--control", endpoints.control,
                        "--secret-key", "\(keys)/\(name).key_secret", "--coordinator-key", "\(keys)/coordinator.key",
                    ]
                )
            }
            let operatorEvents = try follower("op")
            let observerEvents = try follower("obs")
            // Both are subscribed once each sees a plan submitted after it started.
            func plan(_ id: String) -> Plan { Plan(id: id, title: id, todos: [Todo(id: "t", command: "true")]) }
            var heard = false
            for attempt in 1...20 where !heard {
                try await cluster.submit(plan("before-\(attempt)"))
                heard = await eventually(within: .seconds(1)) {
                    [operatorEvents, observerEvents].allSatisfy { $0.output.contains("\"before-\(attempt)\"") }
                }
            }
            #expect(heard, "op: \(operatorEvents.output.suffix(1000))\nobs: \(observerEvents.output.suffix(1000))")

            try FileManager.default.removeItem(atPath: "\(authorized)/observers/obs.key")
            let cut = try await poll(within: .seconds(20)) { () async throws -> Int64? in
                let cut = try await cluster.status().counters["connections_cut"] ?? 0
                return cut >= 2 ? cut : nil
            }
            #expect(cut != nil, "both subscribers' connections were cut")
            // An event published while the operator's follower reconnects is filled in from the log when the next
            // one shows the gap: submit until it is there.
            var filled = false
            for attempt in 1...20 where !filled {
                try await cluster.submit(plan("after-\(attempt)"))
                filled = await eventually(within: .seconds(1)) { operatorEvents.output.contains("\"after-1\"") }
            }
            #expect(filled, "op: \(operatorEvents.output.suffix(1500))")
            #expect(
                !observerEvents.output.contains("\"after-"),
                "the removed observer hears no more: \(observerEvents.output.suffix(1000))"
            )
        }
    }

    @Test func listeningBeyondLoopbackWithoutKeysIsRefusedUnlessInsecure() async throws {
        try await Cluster.with { cluster in
            let arguments = [
                "coordinator", "--work", "tcp://0.0.0.0:*", "--events", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                "--state-dir", cluster.stateDir, "--http", "none",
            ]
            let refused = try cluster.start("refused", arguments)
            #expect(try await refused.wait(timeout: .seconds(30)) != 0)
            #expect(
                refused.output.contains("refusing to listen on tcp://0.0.0.0:*") && refused.output.contains("drover keygen"),
                "\(refused.output)"
            )
            #expect(refused.output.contains("--insecure"))

            let insecure = try cluster.start("insecure", arguments + ["--insecure"])
            _ = try await insecure.waitForLine(containing: "listening work=")
            #expect(insecure.output.contains("without keys on addresses other machines can reach"))
        }
    }

    @Test func aKeyFileOthersCanReadStopsTheStartNamingTheFile() async throws {
        try await Cluster.with { cluster in
            let keys = "\(cluster.directory)/keys"
            _ = try await drover(cluster, "keygen", ["keygen", "w1", "--role", "worker", "--dir", keys])
            _ = try await drover(cluster, "keygen-c", ["keygen", "coordinator", "--role", "coordinator", "--dir", keys])
            chmod("\(keys)/w1.key_secret", 0o640)
            let worker = try await drover(
                cluster,
                "worker",
                ["worker", "--id", "w1", "--secret-key", "\(keys)/w1.key_secret", "--coordinator-key", "\(keys)/coordinator.key"]
            )
            #expect(worker.status != 0)
            #expect(worker.output.contains("\(keys)/w1.key_secret") && worker.output.contains("chmod 600"), "\(worker.output)")
            let half = try await drover(cluster, "half", ["status", "--secret-key", "\(keys)/coordinator.key_secret"])
            #expect(half.status != 0 && half.output.contains("--coordinator-key"), "\(half.output)")
        }
    }

    @Test func doctorSaysWhetherTheSetupIsSecured() async throws {
        try await Cluster.with { cluster in
            let keys = "\(cluster.directory)/keys"
            _ = try await drover(cluster, "keygen", ["keygen", "coordinator", "--role", "coordinator", "--dir", keys])
            _ = try await drover(cluster, "keygen-w", ["keygen", "w1", "--role", "worker", "--dir", keys])
            try FileManager.default.createDirectory(atPath: "\(keys)/authorized/workers", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(keys)/w1.key", toPath: "\(keys)/authorized/workers/w1.key")

            let secured = try await drover(
                cluster,
                "doctor-secured",
                ["doctor", "--secret-key", "\(keys)/coordinator.key_secret", "--authorized-keys", "\(keys)/authorized"]
            )
            #expect(secured.output.contains("ok   CURVE"), "\(secured.output)")
            #expect(secured.output.contains("ok   keys: secured") && secured.output.contains("1 workers, 0 operators"), "\(secured.output)")

            chmod("\(keys)/coordinator.key_secret", 0o644)
            let exposedKey = try await drover(cluster, "doctor-exposed", ["doctor", "--secret-key", "\(keys)/coordinator.key_secret"])
            #expect(exposedKey.status != 0)
            #expect(exposedKey.output.contains("FAIL keys") && exposedKey.output.contains("coordinator.key_secret"), "\(exposedKey.output)")

            // A coordinator recorded in the state directory as listening on every interface, and no keys here.
            try FileManager.default.createDirectory(atPath: cluster.stateDir, withIntermediateDirectories: true)
            try EndpointsFile.write(Endpoints(work: "tcp://0.0.0.0:7100"), in: cluster.stateDir)
            let open = try await drover(cluster, "doctor-open", ["doctor", "--state-dir", cluster.stateDir])
            #expect(open.status != 0)
            #expect(open.output.contains("FAIL keys: not secured") && open.output.contains("tcp://0.0.0.0:7100"), "\(open.output)")
        }
    }
}
