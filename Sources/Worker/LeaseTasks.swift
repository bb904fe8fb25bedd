import DroverProtocol

/// The tasks doing leases' work, by lease id: what ``WorkerService`` starts, cancels and aborts when the core says
/// so. Each task runs a ``LeaseRun`` and feeds what its session says back into the main loop's stream.
struct LeaseTasks {
    private struct Entry {
        var task: Task<Void, Never>
        var abort: LeaseRun.Abort
        var channel: OperatorChannel
    }

    let run: LeaseRun
    let inputs: AsyncStream<WorkerInput>.Continuation
    /// Sessions waiting for an operator's answer.
    let asks = WaitingSessions<HumanAnswer>(prefix: "q")
    /// Sessions waiting for the supervisor policy's decision.
    let recoveries = WaitingSessions<RecoveryVerdict>(prefix: "r")
    private var entries: [String: Entry] = [:]

    init(run: LeaseRun, inputs: AsyncStream<WorkerInput>.Continuation) {
        self.run = run
        self.inputs = inputs
    }

    /// Starts the work of a lease; its end comes back as ``WorkerInput/finished(leaseID:_:)``.
    mutating func start(_ body: AssignBody) {
        let (run, inputs, asks, recoveries) = (self.run, self.inputs, self.asks, self.recoveries)
        let leaseID = body.lease.leaseId
        let abort = LeaseRun.Abort()
        let channel = OperatorChannel()
        let task = Task {
            let context = AgentContext(
                events: { inputs.yield(.progress(leaseID: leaseID, $0)) },
                ask: { question in await asks.wait { inputs.yield(.ask(leaseID: leaseID, item: $0, question)) } },
                recover: { request in await recoveries.wait { inputs.yield(.recover(leaseID: leaseID, item: $0, request)) } },
                operatorInput: channel
            )
            let result = await run.run(body.task, lease: body.lease, abort: abort, context: context)
            inputs.yield(.finished(leaseID: leaseID, result))
        }
        entries[leaseID] = Entry(task: task, abort: abort, channel: channel)
    }

    /// Hands an operator's guidance to the lease's session; a session that takes none (a command) says so.
    func steer(_ leaseID: String, _ text: String) {
        guard let entry = entries[leaseID] else { return }
        if !entry.channel.steer(text) {
            inputs.yield(.progress(leaseID: leaseID, [OperatorChannel.notTaken("guidance", text)]))
        }
    }

    /// Asks the lease's session to stop after its turn; a session that cannot (a command) says so and runs on.
    func pause(_ leaseID: String) {
        guard let entry = entries[leaseID] else { return }
        if !entry.channel.pause() {
            inputs.yield(.progress(leaseID: leaseID, [OperatorChannel.notTaken("pause", nil)]))
        }
    }

    /// Stops the work; its result is still reported.
    func cancel(_ leaseID: String) {
        entries[leaseID]?.task.cancel()
    }

    /// Stops the work of a lease that is not ours any more; nothing of it is checkpointed.
    func abort(_ leaseID: String) {
        entries[leaseID]?.abort.set()
        entries[leaseID]?.task.cancel()
    }

    /// Forgets a lease whose task has ended.
    mutating func finished(_ leaseID: String) {
        entries[leaseID] = nil
    }
}
