import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Coordinator

/// The state directory's lock (one writer per state file) and the state worked on with no coordinator running.
@Suite struct StateDirectoryTests {
    @Test func theLockHasOneHolderAtATime() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try StateDirectoryLock.acquire(in: directory.path, holder: "coordinator")
        // flock locks belong to an open file: a second open in the same process is refused as another process is.
        let held = #expect(throws: StateDirectoryLock.Held.self) {
            try StateDirectoryLock.acquire(in: directory.path, holder: "drover rollback")
        }
        #expect(held?.pid == getpid() && held?.holder == "coordinator")
        #expect(held?.description == "\(directory.path) is in use by a coordinator (pid \(getpid()))")
        first.release()
        first.release()
        let second = try StateDirectoryLock.acquire(in: directory.path, holder: "drover rollback")
        #expect(try String(contentsOfFile: second.path, encoding: .utf8) == "\(getpid()) drover rollback\n")
        second.release()
        #expect(throws: POSIXError.self, "no directory, no lock") {
            try StateDirectoryLock.acquire(in: "\(directory.path)/missing", holder: "coordinator")
        }
    }

    @Test func theLockGoesWithItsHolder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let lock = try StateDirectoryLock.acquire(in: directory.path, holder: "coordinator")
            #expect(FileManager.default.fileExists(atPath: lock.path))
        }
        // Released when the lock was freed, without a call.
        try StateDirectoryLock.acquire(in: directory.path, holder: "coordinator").release()
    }

    @Test func aSecondCoordinatorOnTheSameStateIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(try CoordinatorService.lockStateDirectory(of: ":memory:") == nil)
        let running = try #require(try CoordinatorService.lockStateDirectory(of: "\(directory.path)/state/state.sqlite"))
        defer { running.release() }
        let refused = #expect(throws: DroverError.self) {
            try CoordinatorService.lockStateDirectory(of: "\(directory.path)/state/state.sqlite")
        }
        #expect(refused?.code == .inUse)
        #expect(refused?.message.contains("state is in use by a coordinator (pid \(getpid()))") == true, "\(refused?.message ?? "")")
    }

    /// A plan with a (for the core, pretend) repository whose `a` and `b` are merged, in a state file in `directory`.
    func stateWithTwoMerges(in directory: String) throws -> CoreHarness {
        let harness = try CoreHarness(statePath: "\(directory)/state.sqlite")
        try harness.register("w1", slots: 4)
        let queue = MergeQueueTests()
        let (started, mergeA) = try queue.startWithAsMerge(harness)
        try queue.merge(harness, mergeA, MergeResult(outcome: .merged, head: "h1"))
        let b = try #require(started.first { $0.lease.todo == "b" })
        let mergeB = try #require(try harness.report("w1", b).assigns().first { $0.lease.plan == "p-merge" })
        try queue.merge(harness, mergeB, MergeResult(outcome: .merged, head: "h2"))
        return harness
    }

    @Test func aRollbackOnTheStateDirectoryIsTheCoordinatorsRuleCommitted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let harness = try stateWithTwoMerges(in: directory.path)

        let state = try StateDirectory.open(directory.path, holder: "drover rollback")
        #expect(
            throws: DroverError.self,
            "no coordinator can start on it meanwhile"
        ) { try CoordinatorService.lockStateDirectory(of: "\(directory.path)/state.sqlite") }
        let check = try state.operate(RollbackRequest(plan: "p", step: .check, tag: "drover/p/after-a"))
        #expect(check.expect == "h2" && check.undone == ["b"] && check.branch == "drover/p/integration")
        let wrongTag = #expect(throws: ProtocolError.self) {
            try state.operate(RollbackRequest(plan: "p", step: .check, tag: "drover/other/base"))
        }
        #expect(wrongTag?.message.contains("drover/other/base is not a tag of plan p") == true)
        let noPlan = #expect(throws: StateDirectoryError.self) { try state.operate(RollbackRequest(plan: "nope", step: .check)) }
        #expect(noPlan?.description == "plan nope is not in \(directory.path): its plans are p, p-merge")
        let recorded = try state.operate(
            RollbackRequest(plan: "p", step: .record, tag: "drover/p/after-a", head: "h1", reason: "b broke it", by: "ops")
        )
        #expect(recorded.undone == ["b"])
        state.close()

        let events = try EventLog.read(statePath: "\(directory.path)/state.sqlite")
        let event = try #require(events.last)
        #expect(event.type == .mergeRolledBack, "the last event, and the offline session's only one")
        #expect(event.data["by"] == "ops" && event.data["reason"] == "b broke it" && event.data["undone"] == .array(["b"]))
        #expect(events.filter { $0.type == .coordinatorStarted }.count == 1, "the offline session is no coordinator start")
        // A coordinator started on the state afterwards finds the rollback there.
        try harness.restart()
        #expect(harness.core.merges["p"]?.merged == ["a"] && harness.core.merges["p"]?.head == "h1")
        #expect(harness.state("p-merge", "a") == "done" && harness.state("p-merge", "b") == "skipped")
        let audit = try String(contentsOfFile: "\(directory.path)/audit.jsonl", encoding: .utf8)
        #expect(audit.contains(#""decision":"merge.rolled_back","reason":"b broke it""#), "\(audit)")
    }

    @Test func aStateDirectoryThatCannotBeUsedIsRefusedWithWhy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = #expect(throws: StateDirectoryError.self) { try StateDirectory.open("\(directory.path)/gone", holder: "test") }
        #expect(missing?.description.hasPrefix("there is no state directory \(directory.path)/gone") == true)
        let empty = #expect(throws: StateDirectoryError.self) { try StateDirectory.open(directory.path, holder: "test") }
        #expect(empty?.description.hasPrefix("\(directory.path) holds no state (no state.sqlite)") == true)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/\(StateDirectoryLock.fileName)"), "nothing made")

        _ = try stateWithTwoMerges(in: directory.path)
        let running = try StateDirectoryLock.acquire(in: directory.path, holder: "coordinator")
        defer { running.release() }
        let inUse = #expect(throws: StateDirectoryError.self) { try StateDirectory.open(directory.path, holder: "test") }
        #expect(inUse?.description.hasPrefix("\(directory.path) is in use by a coordinator (pid \(getpid()))") == true)
    }
}
