import Coordinator
import DroverProtocol
import DroverTesting
import Foundation
import Testing

/// A coordinator and workers on separate network hosts (Linux network namespaces joined by veth pairs), with CURVE
/// keys on every socket, and a real partition: the link of one host goes down mid-TODO and comes back later. A third
/// host has a key the coordinator does not know, and an observer's key.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: NetworkHosts.available, "needs root and iproute2 for network namespaces"))
struct MultiHostTests {
    @Test func partitionedHostLosesItsTodoToAnotherHostAndIsFencedWhenItComesBack() async throws {
        try await NetworkHosts.with { hosts in
            let directory = "/tmp/drover-netns-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var processes: [TestProcess] = []
            defer { for process in processes { process.signal(SIGKILL) } }

            // Keys: the coordinator's, one per worker host, an operator's and an observer's; host c's is unknown.
            let keys = "\(directory)/keys"
            for (name, role) in [
                ("coordinator", "coordinator"), ("host-a", "worker"), ("host-b", "worker"), ("host-c", "worker"), ("op", "operator"),
                ("obs", "observer"),
            ] {
                let keygen = try TestProcess(
                    name: "keygen",
                    arguments: ["keygen", name, "--role", role, "--dir", keys],
                    directory: directory
                )
                #expect(try await keygen.wait(timeout: .seconds(20)) == 0, "\(keygen.output)")
            }
            for (name, folder) in [("host-a", "workers"), ("host-b", "workers"), ("op", "operators"), ("obs", "observers")] {
                try FileManager.default.createDirectory(atPath: "\(directory)/authorized/\(folder)", withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: "\(keys)/\(name).key", toPath: "\(directory)/authorized/\(folder)/\(name).key")
            }
            func keyed(_ name: String) -> [String] {
                ["--secret-key", "\(keys)/\(name).key_secret", "--coordinator-key", "\(keys)/coordinator.key"]
            }

            let addresses = try await hosts.build(hosts: ["a", "b", "c"])
            let coordinator = try TestProcess(
                name: "coordinator",
                arguments: [
                    "coordinator", "--work", "tcp://0.0.0.0:7100", "--events", "tcp://0.0.0.0:7101", "--control",
                    "tcp://0.0.0.0:7102", "--state-dir", "\(directory)/state", "--log-level", "warning",
                    "--secret-key", "\(keys)/coordinator.key_secret", "--authorized-keys", "\(directory)/authorized",
                ],
                directory: directory,
                launcher: hosts.inside("coord", [])
            )
            processes.append(coordinator)
            _ = try await coordinator.waitForLine(containing: "listening work=")

            func startWorker(_ host: String) throws -> TestProcess {
                let worker = try TestProcess(
                    name: "worker-\(host)",
                    arguments: [
                        "worker", "--id", "host-\(host)", "--coordinator", "tcp://\(addresses[host]!):7100", "--workdir", directory,
                        "--log-level", "info",
                    ] + keyed("host-\(host)"),
                    directory: directory,
                    launcher: hosts.inside(host, [])
                )
                processes.append(worker)
                return worker
            }

            /// `drover status --json`, run inside the coordinator's namespace.
            func status() async throws -> StatusBody {
                let query = try TestProcess(
                    name: "status",
                    arguments: ["status", "--control", "tcp://127.0.0.1:7102", "--json"] + keyed("op"),
                    directory: directory,
                    launcher: hosts.inside("coord", [])
                )
                try await query.wait(timeout: .seconds(20))
                let text = query.output
                guard let start = text.firstIndex(of: "{") else { throw TestFailure("status printed no JSON: \(text)") }
                return try JSONDecoder().decode(StatusBody.self, from: Data(text[start...].utf8))
            }

            func waitFor(_ what: String, _ condition: (StatusBody) -> Bool) async throws -> StatusBody {
                let met = try await poll(within: .seconds(60), every: .milliseconds(100)) { () async throws -> StatusBody? in
                    let current = try await status()
                    return condition(current) ? current : nil
                }
                if let met { return met }
                throw TestFailure("timed out waiting for \(what); coordinator:\n\(coordinator.output.suffix(2000))")
            }

            let workerA = try startWorker("a")
            _ = try await waitFor("host-a to register") { $0.workers.map(\.id) == ["host-a"] }
            let plan = """
                id: remote
                todos:
                  - id: long
                    command: echo $DROVER_EPOCH >> starts.log; if [ "$DROVER_EPOCH" = 1 ]; then sleep 60; fi; echo long >> effects.log
                """
            try plan.write(toFile: "\(directory)/plan.yaml", atomically: true, encoding: .utf8)
            let submit = try TestProcess(
                name: "submit",
                arguments: ["plan", "submit", "plan.yaml", "--control", "tcp://127.0.0.1:7102"] + keyed("op"),
                directory: directory,
                launcher: hosts.inside("coord", [])
            )
            #expect(try await submit.wait(timeout: .seconds(20)) == 0, "\(submit.output)")
            _ = try await waitFor("long to run on host-a") { $0.todos.first?.state == .running && $0.todos.first?.worker == "host-a" }

            // Host c, over the network: its worker's key is unknown, so it never registers; an observer's key there
            // reads the status but may not submit.
            let stranger = try startWorker("c")
            func fromHostC(_ name: String, _ arguments: [String]) async throws -> (Int32, String) {
                let command = try TestProcess(
                    name: name,
                    arguments: arguments + ["--control", "tcp://\(addresses["c"]!):7102"],
                    directory: directory,
                    launcher: hosts.inside("c", [])
                )
                return (try await command.wait(timeout: .seconds(30)), command.output)
            }
            let observed = try await fromHostC("observe", ["status", "--json"] + keyed("obs"))
            #expect(observed.0 == 0 && observed.1.contains("\"host-a\""), "\(observed.1)")
            let refused = try await fromHostC("observer-submit", ["plan", "submit", "plan.yaml"] + keyed("obs"))
            #expect(refused.0 != 0 && refused.1.contains("forbidden"), "\(refused.1)")
            let unknown = try await fromHostC("stranger-status", ["status"] + keyed("host-c"))
            #expect(unknown.0 != 0 && unknown.1.contains("refused this client's key"), "\(unknown.1)")

            let workerB = try startWorker("b")
            _ = try await waitFor("host-b to register") { $0.workers.count == 2 }
            #expect(!stranger.output.contains("registered"), "host-c's unknown key never got in")
            try await hosts.setLink(of: "a", up: false)
            let moved = try await waitFor("long to be done on host-b") { $0.plans.first?.state == .done }
            #expect(moved.todos.first?.epoch == 2)
            #expect(moved.workers.map(\.id) == ["host-b"], "host-a was declared lost")

            // The partition heals: host-a comes back still holding epoch 1, is told to abort, and nothing runs twice.
            try await hosts.setLink(of: "a", up: true)
            let rejoined = try await poll(within: .seconds(60), every: .milliseconds(100)) {
                try EventLog.read(statePath: "\(directory)/state/state.sqlite").first { event in
                    event.worker == "host-a" && event.type.subject == "worker" && event.data["aborted"] != .array([])
                        && event.data["aborted"] != nil
                }
            }
            let event = try #require(rejoined, "host-a never came back; its output:\n\(workerA.output.suffix(2000))")
            #expect(event.type == .workerJoined, "it was forgotten when it was lost, so it joins anew")
            #expect(event.data["aborted"] == .array(["remote/long@1"]))
            _ = try await workerA.waitForLine(containing: "aborting")
            let lostLine = try await workerA.waitForLine(containing: "dropped the result of an aborted lease")
            #expect(lostLine.contains("remote/long@1"))
            let effects = try String(contentsOfFile: "\(directory)/effects.log", encoding: .utf8)
            #expect(effects == "long\n", "ran to completion once, on host-b")

            // A worker's key removed while it runs a TODO: that host is dropped and the TODO finishes on the other.
            _ = try await waitFor("both hosts to be registered") { $0.workers.count == 2 }
            let second = """
                id: revoked
                todos:
                  - id: wait
                    command: while [ ! -f go ]; do sleep 0.05; done; echo $DROVER_EPOCH >> revoked.log
                """
            try second.write(toFile: "\(directory)/revoked.yaml", atomically: true, encoding: .utf8)
            let submitSecond = try TestProcess(
                name: "submit-revoked",
                arguments: ["plan", "submit", "revoked.yaml", "--control", "tcp://127.0.0.1:7102"] + keyed("op"),
                directory: directory,
                launcher: hosts.inside("coord", [])
            )
            #expect(try await submitSecond.wait(timeout: .seconds(20)) == 0, "\(submitSecond.output)")
            let running = try await waitFor("wait to run") { status in
                status.todos.contains { $0.id == "wait" && $0.state == .running }
            }
            let holder = try #require(running.todos.first { $0.id == "wait" }?.worker)
            try FileManager.default.removeItem(atPath: "\(directory)/authorized/workers/\(holder).key")
            let elsewhere = try await waitFor("wait to move off \(holder)") { status in
                status.todos.contains { $0.id == "wait" && $0.worker != holder && $0.state == .running }
                    && !status.workers.contains { $0.id == holder }
            }
            #expect(elsewhere.todos.first { $0.id == "wait" }?.epoch == 2)
            let removed = holder == "host-a" ? workerA : workerB
            _ = try await removed.waitForLine(containing: "refused this worker's key")
            #expect(FileManager.default.createFile(atPath: "\(directory)/go", contents: Data()))
            let finished = try await waitFor("revoked to be done") { $0.plans.first { $0.id == "revoked" }?.state == .done }
            #expect(finished.todos.first { $0.id == "wait" }?.worker != holder)
            _ = try await waitFor("the removed worker's connection to be cut") { $0.counters["connections_cut"] == 1 }
        }
    }
}
