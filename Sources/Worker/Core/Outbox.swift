import DroverProtocol
import Foundation

/// Messages that must reach the coordinator (reports, asks, recovery requests): each is kept, and sent again on a
/// timer, until the coordinator acknowledges it or its lease is taken away.
struct Outbox {
    struct Entry {
        /// The message's id, which the coordinator's `ack` (or `recovery`, or `error`) names as `ref`.
        var id: String
        var lease: LeaseRef
        var frames: [Data]
        var sentAt: Int64
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The leases of the entries, each once: a re-registration declares them as still held.
    var leases: [LeaseRef] {
        var seen: Set<String> = []
        return entries.map(\.lease).filter { seen.insert($0.leaseId).inserted }
    }

    mutating func add(id: String, lease: LeaseRef, frames: [Data], now: Int64) {
        entries.append(Entry(id: id, lease: lease, frames: frames, sentAt: now))
    }

    /// Drops the entry the coordinator has answered; an unknown ref (a late duplicate answer) is ignored.
    mutating func acknowledge(_ ref: String) {
        entries.removeAll { $0.id == ref }
    }

    /// Drops everything of a lease that is not ours any more.
    mutating func drop(lease leaseID: String) {
        entries.removeAll { $0.lease.leaseId == leaseID }
    }

    /// The entries not sent for `interval` ms, marked as sent now.
    mutating func due(now: Int64, interval: Int64) -> [[Data]] {
        var frames: [[Data]] = []
        for index in entries.indices where now - entries[index].sentAt >= interval {
            entries[index].sentAt = now
            frames.append(entries[index].frames)
        }
        return frames
    }

    /// Every entry, marked as sent now.
    mutating func all(now: Int64) -> [[Data]] {
        // The clock is monotonic, so nothing was sent after `now`.
        due(now: now, interval: 0)
    }
}
