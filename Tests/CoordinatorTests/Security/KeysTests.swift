import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Logging
import Testing

@testable import Coordinator

/// A directory of authorized keys, as an operator lays it out: `workers/`, `operators/`, `observers/`.
private struct KeyDirectory {
    let root: TemporaryDirectory
    var path: String { root.path }

    init() throws {
        root = try TemporaryDirectory()
        for role in AuthorizedKeys.roles {
            try FileManager.default.createDirectory(atPath: "\(path)/\(role.directoryName)", withIntermediateDirectories: true)
        }
    }

    /// A new key of `role`, its public certificate filed under the role; returns the pair.
    func add(_ name: String, _ role: Role) throws -> KeyPair {
        let pair = try CurveKey.pair()
        let made = try Certificate.write(pair, name: name, metadata: [("role", role.rawValue)], in: "\(path)/keys")
        try FileManager.default.copyItem(atPath: made.public, toPath: "\(path)/\(role.directoryName)/\(name).key")
        return pair
    }

    func remove(_ name: String, _ role: Role) throws {
        try FileManager.default.removeItem(atPath: "\(path)/\(role.directoryName)/\(name).key")
    }
}

private let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

@Suite("Keys and roles") struct KeysTests {
    @Test func eachSocketAdmitsItsRolesOnly() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let worker = try keys.add("w1", .worker)
        let operatorKey = try keys.add("op", .operator)
        let observer = try keys.add("obs", .observer)
        let (authorized, problems) = try AuthorizedKeys.read(from: keys.path)
        #expect(problems.isEmpty)
        #expect(authorized.holders.count == 3)

        func admitted(_ pair: KeyPair, _ socket: SocketDomain) -> Bool {
            if case .admitted = authorized.decide(key: pair.publicKey, on: socket) { return true }
            return false
        }
        #expect(admitted(worker, .work) && !admitted(worker, .control) && !admitted(worker, .events))
        #expect(!admitted(operatorKey, .work) && admitted(operatorKey, .control) && admitted(operatorKey, .events))
        #expect(!admitted(observer, .work) && admitted(observer, .control) && admitted(observer, .events))
        #expect(authorized.decide(key: try CurveKey.pair().publicKey, on: .control) == .refused(.unknownKey))
        #expect(authorized.decide(key: nil, on: .work) == .refused(.noKey))
        #expect(authorized.decide(key: worker.publicKey, on: .control) == .refused(.wrongRole(.worker)))
        #expect(authorized.decide(key: worker.publicKey, on: nil) == .refused(.unknownSocket))
    }

    @Test func aSecretKeyOrAKeyWithTwoRolesInTheDirectoryIsAProblemNamedByItsPath() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let pair = try keys.add("twice", .worker)
        try FileManager.default.copyItem(atPath: "\(keys.path)/workers/twice.key", toPath: "\(keys.path)/operators/twice.key")
        try FileManager.default.copyItem(atPath: "\(keys.path)/keys/twice.key_secret", toPath: "\(keys.path)/observers/twice.key_secret")
        let (authorized, problems) = try AuthorizedKeys.read(from: keys.path)
        #expect(authorized.holders[pair.publicKey]?.role == .worker)
        #expect(problems.count == 2)
        #expect(problems.contains { $0.code == .mismatched && $0.message.contains("operators/twice.key") })
        #expect(problems.contains { $0.code == .exposed && $0.message.contains("observers/twice.key_secret") })
        // At start that refuses to run, naming the file.
        #expect(throws: KeyFileError.self) { try KeyRing(directory: keys.path, logger: quiet) }
        let missing = try #require(throws: KeyFileError.self) { try KeyRing(directory: "\(keys.path)/nope", logger: quiet) }
        #expect(missing.message.contains("nope") && missing.message.contains("workers/"))
    }

    @Test func aRemovedKeyIsReportedOnceWhenTheDirectoryIsReadAgain() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let worker = try keys.add("w1", .worker)
        let ring = try KeyRing(directory: keys.path, logger: quiet)
        #expect(ring.reloadIfChanged().isEmpty)
        #expect(ring.holder(ofUserID: worker.publicKey.z85)?.role == .worker)
        try keys.remove("w1", .worker)
        let revoked = ring.reloadIfChanged()
        #expect(revoked[worker.publicKey]?.name == "w1")
        #expect(ring.holder(ofUserID: worker.publicKey.z85) == nil)
        #expect(ring.reloadIfChanged().isEmpty)
        // Added back: admitted again, nothing revoked.
        let again = try keys.add("w2", .worker)
        #expect(ring.reloadIfChanged().isEmpty)
        #expect(ring.authorize(ZAPRequest(domain: "work", clientKey: again.publicKey)) == .admit(userID: again.publicKey.z85))
        #expect(ring.authorize(ZAPRequest(domain: "control", clientKey: again.publicKey)) != .admit(userID: again.publicKey.z85))
    }

    @Test func observersMayReadButNotChange() {
        let readOnly: [(MessageType, (any WireBody)?)] = [
            (.status, nil), (.events, nil), (.inbox, nil), (.review, nil), (.planReport, ReportRequest(plan: "p")),
            (.job, JobRequest(action: .list)), (.todo, TodoRequest(plan: "p", todo: "t", action: .show)),
            (.policy, PolicyRequest(action: .list)), (.rollback, RollbackRequest(plan: "p", step: .check)),
        ]
        for (type, body) in readOnly { #expect(ControlAccess.roleNeeded(type, body) == .observer, "\(type)") }
        let changes: [(MessageType, (any WireBody)?)] = [
            (.submit, nil), (.answer, nil), (.planReport, ReportRequest(plan: "p", ai: true)),
            (.job, JobRequest(action: .cancel)), (.todo, TodoRequest(plan: "p", todo: "t", action: .retry)),
            (.todo, TodoRequest(plan: "p", todo: "t", action: .steer, text: "x")), (.policy, PolicyRequest(action: .forget)),
            (.rollback, RollbackRequest(plan: "p", step: .record)), (.merge, nil), (.plan, nil),
        ]
        for (type, body) in changes { #expect(ControlAccess.roleNeeded(type, body) == .operator, "\(type)") }
        #expect(Role.operator.mayOperate && Role.coordinator.mayOperate && !Role.observer.mayOperate && !Role.worker.mayOperate)
    }

    @Test func onlyTcpAddressesBeyondLoopbackAreExposed() {
        for endpoint in ["tcp://0.0.0.0:7100", "tcp://*:7100", "tcp://10.0.0.5:7100", "tcp://[fe80::1]:7100", "tcp://eth0:7100"] {
            #expect(BindExposure.isExposed(endpoint), "\(endpoint)")
        }
        for endpoint in [
            "tcp://127.0.0.1:7100", "tcp://127.0.0.2:*", "tcp://localhost:7100", "tcp://[::1]:7100", "ipc:///tmp/w.sock", "inproc://x",
        ] {
            #expect(!BindExposure.isExposed(endpoint), "\(endpoint)")
        }
        let refusal = BindExposure.refusal(["tcp://0.0.0.0:7100"])
        #expect(refusal.contains("tcp://0.0.0.0:7100") && refusal.contains("drover keygen") && refusal.contains("--insecure"))
    }

    // MARK: - The core with keys

    @Test func anObserversKeyMayAskForStatusButNotSubmit() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let observer = try keys.add("obs", .observer)
        let operatorKey = try keys.add("op", .operator)
        let harness = try CoreHarness(keyRing: try KeyRing(directory: keys.path, logger: quiet))
        harness.userIDs = ["watcher": observer.publicKey.z85, "op": operatorKey.publicKey.z85]

        let refused = try harness.control(.submit, SubmitBody(plan: plan([Todo(id: "a", command: "true")])), from: "watcher").errors()
        #expect(refused.count == 1)
        #expect(refused.first?.code == .forbidden)
        #expect(refused.first?.message.contains("observer") == true && refused.first?.message.contains("operator") == true)
        #expect(harness.core.todos.plans.isEmpty)

        let status = try harness.control(.status, EmptyBody(), from: "watcher")
        #expect(status.first?.header?.type == .status)
        #expect(try harness.control(.submit, SubmitBody(plan: plan([Todo(id: "a", command: "true")])), from: "op").errors().isEmpty)
        #expect(harness.state("p", "a") != nil)
    }

    @Test func anObserversKeyRemovedCutsItsConnectionsAndEveryEventSubscribers() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let observer = try keys.add("obs", .observer)
        _ = try keys.add("op", .operator)
        let harness = try CoreHarness(keyRing: try KeyRing(directory: keys.path, logger: quiet))
        harness.userIDs = ["watcher": observer.publicKey.z85]
        #expect(try harness.control(.status, EmptyBody(), from: "watcher").first?.header?.type == .status)

        try keys.remove("obs", .observer)
        _ = try harness.tick(advancing: 1000)
        #expect(try harness.control(.status, EmptyBody(), from: "watcher").errors().first?.code == .forbidden)
        harness.now += CoordinatorCore.cutDelayMs
        #expect(
            harness.core.takeDueCuts(now: harness.now) == CoordinatorCore.DueCuts(userIDs: [observer.publicKey.z85], subscribers: true)
        )
        #expect(harness.core.takeDueCuts(now: harness.now) == CoordinatorCore.DueCuts(), "cut once")
    }

    @Test func aWorkerWhoseKeyIsRemovedIsDroppedAndItsTodoQueuedAgain() throws {
        let keys = try KeyDirectory()
        defer { keys.root.remove() }
        let first = try keys.add("w1", .worker)
        let second = try keys.add("w2", .worker)
        let operatorKey = try keys.add("op", .operator)
        let harness = try CoreHarness(keyRing: try KeyRing(directory: keys.path, logger: quiet))
        harness.userIDs = ["w1": first.publicKey.z85, "w2": second.publicKey.z85, "op": operatorKey.publicKey.z85]
        try harness.register("w1")
        let assigned = try harness.submit(plan([Todo(id: "a", command: "true")])).assigns(to: "w1")
        #expect(assigned.count == 1)

        try keys.remove("w1", .worker)
        let dropped = try harness.tick(advancing: 1000)
        #expect(dropped.eventTypes.contains("worker.lost"))
        #expect(dropped.events.contains { $0.data["reason"]?.stringValue?.contains("key") == true })
        #expect(harness.core.workers["w1"] == nil)
        #expect(harness.state("p", "a") == "ready")
        // It is told at once, and its connection is cut a moment later, once the refusal has left.
        let told = dropped.filter { $0.to == "w1" && $0.header?.type == .error }
        #expect(try told.errors().map(\.code) == [.forbidden])
        #expect(try told.errors().first?.message.contains(first.publicKey.fingerprint) == true)
        #expect(harness.core.takeDueCuts(now: harness.now) == CoordinatorCore.DueCuts())
        harness.now += CoordinatorCore.cutDelayMs
        // A worker's key cannot subscribe to the events: the subscribers are left alone.
        #expect(harness.core.takeDueCuts(now: harness.now) == CoordinatorCore.DueCuts(userIDs: [first.publicKey.z85]))
        #expect(harness.core.takeDueCuts(now: harness.now) == CoordinatorCore.DueCuts(), "cut once")

        // Its messages are refused from now on; the TODO goes to a worker whose key is still there.
        let again = try harness.register("w1")
        #expect(try again.errors().first?.code == .forbidden)
        #expect(harness.core.workers["w1"] == nil)
        #expect(try harness.register("w2").assigns(to: "w2").count == 1)
    }
}
