import DroverProtocol

/// Messages under a lease: accept, reject, progress and report, each fenced by lease id and epoch.
extension CoordinatorCore {
    /// The TODO the lease belongs to, if the lease is the sender's current one; throws `stale_lease` otherwise.
    func current(_ leaseID: String, epoch: Int64, from worker: String, ref: String) throws(ProtocolError) -> TodoKey {
        guard let key = leases.fence(leaseID, epoch: epoch, from: worker, in: todos) else {
            count("stale_refused")
            record(.leaseRefused, worker: worker, ["lease": .string(leaseID), "epoch": .int(epoch)])
            throw ProtocolError(
                .staleLease,
                "lease \(leaseID) (epoch \(epoch)) is not yours any more: abort its work",
                ref: ref,
                leaseId: leaseID
            )
        }
        return key
    }

    func accept(_ body: LeaseAnswerBody, from worker: String, ref: String) throws(ProtocolError) {
        markAccepted(try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref), by: worker)
    }

    /// The worker has the TODO in hand: from now on only its silence, not the accept timeout, ends the lease.
    func markAccepted(_ key: TodoKey, by worker: String) {
        guard let todo = todos.start(key, at: wallClockMilliseconds()) else { return }
        record(.todoRunning, plan: key.plan, todo: key.todo, worker: worker, ["epoch": .int(todo.epoch)])
    }

    func reject(_ body: LeaseAnswerBody, from worker: String, ref: String, now: Int64) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        // A rest, so a worker that cannot take work is not offered it again in a tight loop, and a longer one from
        // this TODO, so a worker that keeps refusing it is not asked about it again for a while.
        workers.rest(worker, until: now + heartbeatMs, avoiding: key, until: now + 10 * heartbeatMs)
        if body.reason == "draining" { _ = workers.setDraining(worker, true) }
        requeue(key, reason: "worker \(worker) rejected it: \(body.reason ?? "no reason given")")
    }

    func progress(_ body: ProgressBody, from worker: String, ref: String) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        for event in body.events {
            var data: [String: JSONValue] = ["kind": .string(event.kind.rawValue)]
            if let stream = event.stream { data["stream"] = .string(stream) }
            if let text = event.text { data["text"] = .string(text) }
            if let detection = event.detection { data["detection"] = .string(detection.rawValue) }
            if event.kind == .checkpoint, let files = event.files {
                // The files a running TODO has changed so far, for conflict-aware scheduling and review.
                todos.addWork(key, tokens: 0, files: files)
                data["files"] = .array(files.prefix(100).map { .string($0) })
            }
            if event.kind == .thread, let thread = event.thread {
                // Stored beside the checkpoint: a session after this one (its worker lost, say) goes on on it.
                todos.keepThread(key, thread)
                data["thread_id"] = .string(thread)
            }
            if event.kind == .usage, let usage = event.usage {
                countLive(usage, model: event.model, key: key, lease: body.leaseId, into: &data)
            }
            record(.agent(event.kind), plan: key.plan, todo: key.todo, worker: worker, data)
        }
    }

    func report(_ body: ReportBody, seq: UInt64, from worker: String, ref: String, now: Int64) throws(ProtocolError) {
        if leases.isProcessed(body.leaseId, seq: seq) {
            // A resend of a report we already processed (our ack was lost): acknowledge it again, change nothing.
            count("duplicate_reports")
            send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
            return
        }
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        leases.markProcessed(body.leaseId, seq: seq)
        release(key)
        let cost = body.usage.flatMap { configuration.prices.cost($0, model: body.model) }
        // What the session's `usage` events counted already is not counted again: the report adds the rest.
        let live = todos.takeLive(key, lease: body.leaseId)
        let rest = body.usage?.subtracting(live)
        todos.addWork(
            key,
            tokens: max(0, (body.tokens ?? 0) - live.total),
            files: body.files,
            diffStat: body.diffStat,
            checks: body.checks,
            usage: rest,
            costUSD: rest.flatMap { configuration.prices.cost($0, model: body.model) }
        )
        // The thread the report names goes on; one that ended otherwise leaves none, and a session stopped without
        // naming one (handed back, or its last store failed) leaves the one its checkpoints stored.
        if body.threadId != nil || !body.outcome.continuesThread {
            todos.keepThread(key, body.threadId)
        }
        var data: [String: JSONValue] = [
            "outcome": .string(body.outcome.rawValue), "epoch": .int(body.epoch), "duration_ms": .int(body.durationMs),
            "summary": .string(body.summary),
        ]
        if let exitCode = body.exitCode { data["exit_code"] = .int(Int64(exitCode)) }
        if let tokens = body.tokens { data["tokens"] = .int(tokens) }
        if let cost { data["cost_usd"] = .double(cost) }
        if let thread = body.threadId { data["thread_id"] = .string(thread) }
        if live.total > 0 {
            // The run's tokens and cost counted live before its report (the metrics count only the rest here).
            data["live_tokens"] = .int(min(live.total, body.tokens ?? 0))
            if let liveCost = configuration.prices.cost(live, model: body.model), let cost {
                data["live_cost_usd"] = .double(min(liveCost, cost))
            }
        }
        defer {
            if cost != nil {
                checkCostCap(key.plan)
                checkTodoCostCap(key, model: body.model)
            }
        }
        mergeReported(body, key: key, worker: worker)
        switch body.outcome {
        case .succeeded:
            if let output = body.output {
                keepStepAnswer(output, plan: key.plan)
                keepReviewAnswer(output, model: body.model, key: key)
                keepAdvice(output, key: key)
            }
            end(key, as: .done, detail: body.summary, durationMs: body.durationMs, worker: worker, data)
        case .escalated:
            end(key, as: .escalated, detail: body.summary, durationMs: body.durationMs, worker: worker, data)
        case .cancelled:
            end(key, as: .cancelled, detail: body.summary, durationMs: body.durationMs, worker: worker, data)
        case .failed, .timedOut:
            guard let (attempts, retry) = todos.countFailedAttempt(key, detail: body.summary) else { break }
            data["attempt"] = .int(Int64(attempts))
            data["output_tail"] = .string(String(body.outputTail.suffix(2000)))
            if retry {
                record(.todoRetry, plan: key.plan, todo: key.todo, worker: worker, data)
                todos.makeReady(key, front: true)
            } else {
                // A merge that could not be repaired waits for an operator rather than failing.
                end(key, as: isMerge(key) ? .escalated : .failed, detail: body.summary, durationMs: body.durationMs, worker: worker, data)
            }
        case .parked:
            park(key, until: body.resumeAt ?? 0, report: body, worker: worker, now: now, data)
        case .paused:
            paused(key, worker: worker, data)
            afterCostCapPause(key, now: now)
        case .handedBack:
            record(.todoHandedBack, plan: key.plan, todo: key.todo, worker: worker, data)
            todos.makeReady(key, front: true, detail: "handed back by \(worker): \(body.summary)")
            pauseIfAsked(key)
        }
        pausing.remove(key)
        send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
    }

    /// Ends the TODO's lease (it no longer belongs to any worker); what waited in the inbox under it is dropped.
    func release(_ key: TodoKey) {
        guard let (leaseID, worker) = todos.release(key) else { return }
        for waiting in inbox.takeItems(of: leaseID) {
            let item = waiting.item
            record(.inboxDropped, plan: item.plan, todo: item.todo, worker: item.worker, ["item": .string(item.id)])
        }
        dropAdvice(of: leaseID)
        leases.end(leaseID)
        if let worker { workers.release(leaseID, from: worker) }
    }

    /// Takes the lease away and puts the TODO back in the queue; the next assignment has epoch + 1.
    func requeue(_ key: TodoKey, reason: String) {
        guard let todo = todos[key], todo.state.holdsLease else { return }
        let leaseID = todo.leaseID ?? "-"
        release(key)
        count("requeued")
        record(
            .todoRequeued,
            plan: key.plan,
            todo: key.todo,
            worker: todo.worker,
            ["reason": .string(reason), "lease": .string(leaseID), "epoch": .int(todo.epoch)]
        )
        todos.makeReady(key, front: true, detail: reason)
        pauseIfAsked(key)
    }
}
