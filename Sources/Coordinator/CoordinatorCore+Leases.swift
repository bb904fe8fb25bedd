import Shared

/// Messages under a lease: accept, reject, progress and report, each fenced by lease id and epoch.
extension CoordinatorCore {
    /// The TODO the lease belongs to, if the lease is the sender's current one; throws `stale_lease` otherwise.
    func current(_ leaseID: String, epoch: Int64, from worker: String, ref: String) throws(ProtocolError) -> TodoKey {
        guard let key = leases[leaseID], let todo = todos[key], todo.leaseID == leaseID, todo.epoch == epoch,
            todo.worker == worker
        else {
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
        guard let todo = todos[key], todo.state == .assigned else { return }
        todos[key]!.state = .running
        todos[key]!.facts.startedAt = wallClockMilliseconds()
        touch(key)
        record(.todoRunning, plan: key.plan, todo: key.todo, worker: worker, ["epoch": .int(todo.epoch)])
    }

    func reject(_ body: LeaseAnswerBody, from worker: String, ref: String, now: Int64) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        // Give the worker a rest so a worker that cannot take work is not offered the same TODO in a tight loop.
        workers[worker]?.restUntil = now + heartbeatMs
        // …and a worker that keeps refusing one TODO is not asked about it again for a while.
        workers[worker]?.rejected[key] = now + 10 * heartbeatMs
        if body.reason == "draining" { workers[worker]?.draining = true }
        requeue(key, reason: "worker \(worker) rejected it: \(body.reason ?? "no reason given")")
    }

    func progress(_ body: ProgressBody, from worker: String, ref: String) throws(ProtocolError) {
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        for event in body.events {
            var data: [String: JSONValue] = ["kind": .string(event.kind.rawValue)]
            if let stream = event.stream { data["stream"] = .string(stream) }
            if let text = event.text { data["text"] = .string(text) }
            if let detection = event.detection { data["detection"] = .string(detection.rawValue) }
            record(.agent(event.kind), plan: key.plan, todo: key.todo, worker: worker, data)
        }
    }

    func report(_ body: ReportBody, seq: UInt64, from worker: String, ref: String) throws(ProtocolError) {
        let reportKey = Store.reportKey(body.leaseId, seq)
        if processedReports.contains(reportKey) {
            // A resend of a report we already processed (our ack was lost): acknowledge it again, change nothing.
            count("duplicate_reports")
            send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
            return
        }
        let key = try current(body.leaseId, epoch: body.epoch, from: worker, ref: ref)
        processedReports.insert(reportKey)
        changes.reports.append((body.leaseId, seq))
        release(key)
        todos[key]!.facts.tokens += body.tokens ?? 0
        if let files = body.files { todos[key]!.facts.files = files }
        var data: [String: JSONValue] = [
            "outcome": .string(body.outcome.rawValue), "epoch": .int(body.epoch), "duration_ms": .int(body.durationMs),
            "summary": .string(body.summary),
        ]
        if let exitCode = body.exitCode { data["exit_code"] = .int(Int64(exitCode)) }
        if let tokens = body.tokens { data["tokens"] = .int(tokens) }
        /// Puts the TODO in a final state, with the report's summary as the reason.
        func end(_ state: TodoState) {
            todos[key]!.state = state
            todos[key]!.detail = body.summary
            todos[key]!.facts.durationMs = body.durationMs
            touch(key)
            record(.todo(state), plan: key.plan, todo: key.todo, worker: worker, data)
            finished(key)
        }
        switch body.outcome {
        case .succeeded:
            end(.done)
        case .escalated:
            end(.escalated)
        case .cancelled:
            end(.cancelled)
        case .failed, .timedOut:
            todos[key]!.attempts += 1
            let attempts = todos[key]!.attempts
            data["attempt"] = .int(Int64(attempts))
            data["output_tail"] = .string(String(body.outputTail.suffix(2000)))
            if attempts < todos[key]!.spec.maxAttempts {
                todos[key]!.detail = body.summary
                touch(key)
                record(.todoRetry, plan: key.plan, todo: key.todo, worker: worker, data)
                makeReady(key, front: true)
            } else {
                end(.failed)
            }
        case .handedBack:
            record(.todoHandedBack, plan: key.plan, todo: key.todo, worker: worker, data)
            makeReady(key, front: true, detail: "handed back by \(worker): \(body.summary)")
        }
        send(CoordinatorCore.Socket.work, to: worker, .ack, AckBody(ref: ref, leaseId: body.leaseId))
    }

    /// Ends the TODO's lease (it no longer belongs to any worker).
    func release(_ key: TodoKey) {
        guard let leaseID = todos[key]?.leaseID else { return }
        dropInboxItems(of: leaseID)
        leases[leaseID] = nil
        orphanLeases[leaseID] = nil
        if let worker = todos[key]?.worker { workers[worker]?.leases.remove(leaseID) }
        todos[key]!.leaseID = nil
        todos[key]!.worker = nil
    }

    /// Takes the lease away and puts the TODO back in the queue; the next assignment has epoch + 1.
    func requeue(_ key: TodoKey, reason: String) {
        guard let todo = todos[key], todo.state.holdsLease else { return }
        let leaseID = todo.leaseID ?? "-"
        let worker = todo.worker
        release(key)
        count("requeued")
        record(
            .todoRequeued,
            plan: key.plan,
            todo: key.todo,
            worker: worker,
            ["reason": .string(reason), "lease": .string(leaseID), "epoch": .int(todo.epoch)]
        )
        makeReady(key, front: true, detail: reason)
    }
}
