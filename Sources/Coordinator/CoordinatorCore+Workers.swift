import DroverProtocol

/// Workers joining, beating and leaving; leases expiring when they fall silent.
extension CoordinatorCore {
    func register(_ body: RegisterBody, ref: String, now: Int64) {
        let id = body.worker
        // Reconcile what the worker says it holds with what we believe it holds.
        var kept: Set<String> = []
        var abort: [String] = []
        for held in body.holding {
            if let key = leases.fence(held.leaseId, epoch: held.epoch, from: id, in: todos) {
                kept.insert(held.leaseId)
                leases.claim(held.leaseId)
                markAccepted(key, by: id)
            } else {
                abort.append(held.leaseId)
            }
        }
        let known = workers.register(body, holding: kept, now: now)
        for (leaseID, key) in leases.live.sorted(by: { $0.key < $1.key }) where todos[key]?.worker == id && !kept.contains(leaseID) {
            requeue(key, reason: "worker \(id) registered again without lease \(leaseID)")
        }
        if !abort.isEmpty { count("leases_aborted", by: Int64(abort.count)) }
        send(
            CoordinatorCore.Socket.work,
            to: id,
            .welcome,
            WelcomeBody(instance: instance, heartbeatMs: heartbeatMs, leaseTtlMs: ttlMs, abort: abort)
        )
        record(
            known ? .workerRejoined : .workerJoined,
            worker: id,
            [
                "host": .string(body.host), "slots": .int(Int64(body.slots)),
                "labels": .array(body.labels.map { .string($0) }), "kept": .int(Int64(kept.count)),
                "aborted": .array(abort.map { .string($0) }),
            ]
        )
    }

    func heartbeat(_ body: HeartbeatBody, from id: String, now: Int64) {
        // A lease the worker says it holds was accepted, even if the accept itself was lost.
        for leaseID in body.leases ?? [] {
            if let key = leases[leaseID], todos[key]?.worker == id { markAccepted(key, by: id) }
        }
        if let draining = body.draining, workers.setDraining(id, draining), draining {
            record(.workerDraining, worker: id)
        }
    }

    /// Forgets a worker and puts everything it held back in the queue.
    func dropWorker(_ id: String, type: EventType, reason: String, now: Int64) {
        guard let worker = workers.remove(id) else { return }
        for leaseID in worker.leases.sorted() {
            guard let key = leases[leaseID] else { continue }
            requeue(key, reason: reason)
            count("reassigned")
        }
        record(type, worker: id, ["reason": .string(reason), "requeued": .int(Int64(worker.leases.count))])
    }

    /// Workers silent past the TTL are lost; leases nobody claimed after a restart, or never accepted, expire.
    func expireLeases(now: Int64) {
        for worker in workers.silent(now: now, ttl: ttlMs) {
            count("lease_expired", by: Int64(worker.leases.count))
            dropWorker(
                worker.id,
                type: .workerLost,
                reason: "worker \(worker.id) lost: no heartbeat for \(now - worker.lastSeen) ms",
                now: now
            )
        }
        for (leaseID, key) in leases.expireOrphans(now: now) {
            count("lease_expired")
            requeue(key, reason: "lease \(leaseID) expired: its worker did not come back after the coordinator restarted")
        }
        for worker in workers.all {
            for leaseID in worker.leases {
                guard let key = leases[leaseID], let todo = todos[key], todo.state == .assigned, now - todo.assignedAt > ttlMs
                else { continue }
                count("lease_expired")
                requeue(key, reason: "worker \(worker.id) did not accept lease \(leaseID) within \(ttlMs) ms")
            }
        }
    }
}
