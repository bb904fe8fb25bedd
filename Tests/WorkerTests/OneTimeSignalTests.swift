import DroverTesting
import Testing

@testable import Worker

@Suite struct OneTimeSignalTests {
    @Test func aWaitEndsWhenTheSignalFires() async {
        let signal = OneTimeSignal()
        let waiter = Task { await signal.wait() }
        #expect(!signal.hasFired)
        signal.fire()
        #expect(await value(within: .seconds(5)) { await waiter.value } != nil)
        #expect(signal.hasFired)
    }

    @Test func aWaitAfterTheSignalReturnsAtOnceAndFiringTwiceIsHarmless() async {
        let signal = OneTimeSignal()
        signal.fire()
        signal.fire()
        #expect(await value(within: .seconds(5)) { await signal.wait() } != nil)
    }

    @Test func aCancelledWaitEndsWithoutTheSignal() async {
        let signal = OneTimeSignal()
        let waiter = Task { await signal.wait() }
        waiter.cancel()
        #expect(await value(within: .seconds(5)) { await waiter.value } != nil)
        #expect(!signal.hasFired)
    }
}
