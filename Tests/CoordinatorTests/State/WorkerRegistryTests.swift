import DroverProtocol
import Testing

@testable import Coordinator

/// The workers' bookkeeping: who can take work, and who is silent.
@Suite struct WorkerRegistryTests {
    func register(_ registry: inout WorkerRegistry, _ id: String, slots: Int = 2, labels: [String] = [], now: Int64 = 0) {
        _ = registry.register(RegisterBody(worker: id, host: "h", slots: slots, labels: labels, holding: []), holding: [], now: now)
    }

    @Test func theWorkerWithTheMostFreeSlotsAndTheLabelsGetsTheTodo() {
        var registry = WorkerRegistry()
        register(&registry, "small", slots: 1)
        register(&registry, "big", slots: 4)
        register(&registry, "gpu", slots: 2, labels: ["gpu"])
        var todos = TodoTable()
        _ = todos.add(
            Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x"), Todo(id: "g", command: "x", labels: ["gpu"])]),
            submitJSON: "{}",
            submittedAt: 1
        )
        let free = registry.free(now: 0)
        #expect(free == ["small": 1, "big": 4, "gpu": 2])
        #expect(registry.best(for: todos[TodoKey(plan: "p", todo: "a")]!, among: free, now: 0) == "big")
        #expect(registry.best(for: todos[TodoKey(plan: "p", todo: "g")]!, among: free, now: 0) == "gpu")
    }

    @Test func aRestingOrDrainingWorkerIsNotOfferedWork() {
        var registry = WorkerRegistry()
        register(&registry, "w1")
        register(&registry, "w2")
        registry.rest("w1", until: 50, avoiding: TodoKey(plan: "p", todo: "a"), until: 500)
        let result4 = registry.setDraining("w2", true)
        #expect(result4)
        let result5 = registry.setDraining("w2", true)
        #expect(!result5, "no change")
        #expect(registry.free(now: 10).isEmpty)
        #expect(registry.free(now: 60) == ["w1": 2])
    }

    @Test func aWorkerThatRefusedATodoIsNotAskedAgainSoon() {
        var registry = WorkerRegistry()
        register(&registry, "w1")
        var todos = TodoTable()
        _ = todos.add(Plan(id: "p", title: "p", todos: [Todo(id: "a", command: "x")]), submitJSON: "{}", submittedAt: 1)
        let todo = todos[TodoKey(plan: "p", todo: "a")]!
        registry.rest("w1", until: 0, avoiding: todo.key, until: 500)
        #expect(registry.best(for: todo, among: ["w1": 2], now: 100) == nil)
        #expect(registry.best(for: todo, among: ["w1": 2], now: 501) == "w1")
    }

    @Test func silenceIsMeasuredFromTheLastMessage() {
        var registry = WorkerRegistry()
        register(&registry, "w1", now: 0)
        register(&registry, "w2", now: 0)
        let result6 = registry.heard(from: "w2", now: 1500)
        #expect(result6)
        let result7 = registry.heard(from: "nobody", now: 1500)
        #expect(!result7)
        #expect(registry.silent(now: 2001, ttl: 2000).map(\.id) == ["w1"])
    }

    @Test func leasesTakeSlots() {
        var registry = WorkerRegistry()
        register(&registry, "w1", slots: 2)
        registry.hold("p/a@1", by: "w1")
        #expect(registry.free(now: 0) == ["w1": 1])
        #expect(registry.slots.busy == 1)
        registry.release("p/a@1", from: "w1")
        #expect(registry.free(now: 0) == ["w1": 2])
    }
}
