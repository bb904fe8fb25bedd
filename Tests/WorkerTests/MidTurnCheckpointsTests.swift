import DroverTesting
import Synchronization
import Testing

@testable import Worker

/// A gate a checkpoint waits at until the test opens it, once per checkpoint.
private actor Gate {
    private var permits = 0
    private var waiter: CheckedContinuation<Void, Never>?

    func open() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            permits += 1
        }
    }

    func pass() async {
        guard permits == 0 else {
            permits -= 1
            return
        }
        await withCheckedContinuation { waiter = $0 }
    }
}

/// Checkpoints during a turn: at most once per interval, the last change saved too, none after stop.
@Suite(.timeLimit(.minutes(1))) struct MidTurnCheckpointsTests {
    @Test func pokesWhileOneIsUnderWayMakeOneMoreAndStopEndsThem() async throws {
        let taken = Mutex(0)
        let gate = Gate()
        let checkpoints = MidTurnCheckpoints(interval: .milliseconds(10)) {
            taken.withLock { $0 += 1 }
            await gate.pass()
        }
        checkpoints.poke()
        #expect(await eventually { taken.withLock { $0 } == 1 }, "the first checkpoint")
        // Two more changes while it runs: one more checkpoint after it, not two.
        checkpoints.poke()
        checkpoints.poke()
        await gate.open()
        #expect(await eventually { taken.withLock { $0 } == 2 }, "the checkpoint of the later changes")
        await gate.open()
        await checkpoints.stop()
        checkpoints.poke()
        await checkpoints.stop()
        #expect(taken.withLock { $0 } == 2, "nothing after stop")
    }

    @Test func stopDoesNotWaitForTheIntervalToPass() async throws {
        let taken = Mutex(0)
        let checkpoints = MidTurnCheckpoints(interval: .seconds(3600)) { taken.withLock { $0 += 1 } }
        checkpoints.poke()
        #expect(await eventually { taken.withLock { $0 } == 1 }, "the first checkpoint")
        checkpoints.poke()  // waits an hour for its turn
        await checkpoints.stop()
        #expect(taken.withLock { $0 } == 1)
    }
}
