import DroverProtocol
import Synchronization
import Testing

@testable import Worker

/// Which item each waiting session was given, from any task.
private final class Announced: Sendable {
    private let items = Mutex<[String: String]>([:])
    var all: [String: String] { items.withLock { $0 } }
    func record(_ session: String, _ item: String) { items.withLock { $0[session] = item } }
}

/// The service's side of a question: the session's continuation, kept under the item the core answers.
@Suite(.timeLimit(.minutes(1))) struct WaitingSessionsTests {
    @Test func eachWaitGetsItsOwnItemAndItsOwnAnswer() async throws {
        let sessions = WaitingSessions<HumanAnswer>(prefix: "q", run: "0a0b0c")
        let announced = Announced()
        async let first = sessions.wait { announced.record("first", $0) }
        async let second = sessions.wait { announced.record("second", $0) }
        // Both are waiting once both items are known.
        while announced.all.count < 2 { await Task.yield() }
        #expect(Set(announced.all.values) == ["q1-0a0b0c", "q2-0a0b0c"])
        sessions.resume(try #require(announced.all["first"]), with: HumanAnswer(decision: .approve))
        sessions.resume(try #require(announced.all["second"]), with: HumanAnswer(decision: .deny))
        #expect(await first == HumanAnswer(decision: .approve))
        #expect(await second == HumanAnswer(decision: .deny))
    }

    @Test func anAnswerGivenWhileAnnouncingIsNotLost() async {
        let sessions = WaitingSessions<RecoveryVerdict>(prefix: "r", run: "000001")
        let verdict = await sessions.wait { item in
            sessions.resume(item, with: RecoveryVerdict(decision: .recover, reason: nil))
        }
        #expect(verdict == RecoveryVerdict(decision: .recover, reason: nil))
        // A second answer for the same item has nobody to resume.
        sessions.resume("r1-000001", with: RecoveryVerdict(decision: .escalate, reason: "late"))
    }

    /// A worker restarted under the same id names its items anew: an answer meant for the earlier process's first
    /// question is not taken for the new one's.
    @Test func anotherProcessNamesItsItemsApart() async throws {
        let earlier = WaitingSessions<HumanAnswer>(prefix: "q")
        let later = WaitingSessions<HumanAnswer>(prefix: "q")
        let announced = Announced()
        async let first = earlier.wait { announced.record("earlier", $0) }
        async let second = later.wait { announced.record("later", $0) }
        while announced.all.count < 2 { await Task.yield() }
        let (old, new) = (try #require(announced.all["earlier"]), try #require(announced.all["later"]))
        #expect(old != new, "\(old) and \(new)")
        #expect(old.hasPrefix("q1-") && new.hasPrefix("q1-"))
        later.resume(old, with: HumanAnswer(decision: .approve, text: "for the earlier question"))
        later.resume(new, with: HumanAnswer(decision: .deny))
        #expect(await second == HumanAnswer(decision: .deny), "the later process's session got its own answer")
        earlier.resume(old, with: HumanAnswer(decision: .approve))
        #expect(await first == HumanAnswer(decision: .approve))
    }
}
