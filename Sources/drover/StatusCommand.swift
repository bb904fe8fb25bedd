import ArgumentParser
import DroverClients
import DroverProtocol
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show plans, TODOs and workers of a running coordinator."
    )

    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the whole status as JSON.") var json = false
    @Flag(help: "List every TODO, not only those that are not done.") var all = false

    func run() async throws {
        let status = try await location.controlClient().request(.status, EmptyBody(), as: StatusBody.self)
        if json {
            printJSON(status)
            return
        }
        print(StatusText.render(status, all: all))
    }
}

/// The text form of a status reply.
enum StatusText {
    /// One worker: its host, how busy it is, its labels, and when it was last heard from.
    static func workerLine(_ worker: StatusBody.WorkerStatus) -> String {
        let labels = worker.labels.isEmpty ? "" : " labels \(worker.labels.joined(separator: ","))"
        return "\(worker.id) on \(worker.host): \(worker.running.count)/\(worker.slots) busy\(labels)"
            + (worker.draining ? " (draining)" : "") + ", seen \(worker.lastSeenMsAgo) ms ago"
    }

    static func render(_ status: StatusBody, all: Bool) -> String {
        var lines: [String] = []
        if status.plans.isEmpty { lines.append("no plans yet: submit one with `drover plan submit FILE`") }
        for plan in status.plans {
            let total = plan.counts.values.reduce(0, +)
            let counts = plan.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let paused = plan.paused == true ? ", paused" : ""
            let spend =
                plan.tokens.map { " · \($0) tokens" + (plan.costUSD.map { String(format: ", $%.2f", $0) } ?? "") } ?? ""
            lines.append("plan \(plan.id) [\(plan.state)\(paused)] \(plan.counts["done"] ?? 0)/\(total) done (\(counts))\(spend)")
        }
        lines.append("")
        lines.append(status.workers.isEmpty ? "no workers connected" : "workers:")
        for worker in status.workers { lines.append("  " + workerLine(worker)) }
        let shown = status.todos.filter { all || $0.state != .done }
        if !shown.isEmpty {
            lines.append("")
            lines.append(all ? "TODOs:" : "TODOs not done:")
        }
        for todo in shown {
            var line = "  \(todo.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(todo.plan)/\(todo.id)"
            if let worker = todo.worker { line += " on \(worker)" }
            if todo.epoch > 1 { line += " (epoch \(todo.epoch))" }
            if let resumes = todo.resumeNote() { line += ", \(resumes)" }
            if let cost = todo.costUSD {
                line += String(format: ", $%.2f", cost) + (todo.costCap.map { String(format: " of $%.2f", $0) } ?? "")
            }
            if let detail = todo.detail, todo.state != .done { line += ": \(detail.prefix(120))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workers", abstract: "List the workers of a running coordinator.")

    @OptionGroup var location: CoordinatorLocation
    @Flag(help: "Print the workers as JSON.") var json = false

    func run() async throws {
        let status = try await location.controlClient().request(.status, EmptyBody(), as: StatusBody.self)
        if json {
            printJSON(status.workers)
            return
        }
        if status.workers.isEmpty { print("no workers connected: start one with `drover worker --coordinator …`") }
        for worker in status.workers {
            print(StatusText.workerLine(worker))
            for lease in worker.running { print("  \(lease)") }
        }
    }
}
