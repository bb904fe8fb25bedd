import DroverProtocol
import DroverTesting
import DroverTransport
import Foundation
import Synchronization
import Testing

@testable import drover

/// `drover run --goal`'s follower (`JobMonitor`) against a fake coordinator that plays a job: it asks for
/// permissions at once, and ends when they are answered.
@Suite(.timeLimit(.minutes(1)))
struct JobMonitorTests {
    /// A job that waits for its permissions, then ends: done when approved, cancelled when denied.
    final class ScriptedJob: Sendable {
        let view = Mutex(
            JobView(id: "j", goal: "Fix it", repository: "/srv/app", state: .classify, reason: "started", createdAt: 0, updatedAt: 0)
        )
        static let item = InboxItem(
            id: "item-1",
            plan: "j",
            todo: "",
            worker: "",
            kind: .permissions,
            text: "needs network",
            askedAt: 0,
            job: "j",
            grants: [PermissionGrant(id: "network", description: "reach the network from the sandbox", todos: ["e2e"])]
        )

        /// Ends the job as an operator's `decision` would.
        func decide(_ decision: Decision) {
            view.withLock { view in
                let end: JobState = decision == .approve ? .done : .cancelled
                let reason = decision == .approve ? "approved by the operator" : "denied by the operator"
                view.transitions.append(JobTransition(from: view.state, to: end, reason: reason, at: 2))
                view.state = end
                view.reason = reason
                view.inboxItem = nil
            }
        }

        func reply(_ type: MessageType, _ body: Data) -> FakeControl.Reply {
            switch type {
            case .status:
                return .body(StatusBody(instance: "fake", seq: 0, plans: [], todos: [], workers: [], counters: [:]))
            case .events:
                let after = (try? JSONDecoder().decode(EventsRequest.self, from: body))?.after ?? 0
                return .body(EventsBody(events: [], lastSeq: after))
            case .job:
                let request = try? JSONDecoder().decode(JobRequest.self, from: body)
                if request?.action == .start {
                    view.withLock { view in
                        view.transitions = [
                            JobTransition(from: nil, to: .classify, reason: "started", at: 0),
                            JobTransition(from: .classify, to: .permissionNegotiate, reason: "the plan needs network", at: 1),
                        ]
                        view.state = .permissionNegotiate
                        view.inboxItem = Self.item.id
                        view.grants = Self.item.grants
                    }
                } else if request?.job != "j" {
                    return .error(ProtocolError(.rejected, "no job \(request?.job ?? "")"))
                }
                return .body(JobsBody(jobs: [view.withLock { $0 }]))
            case .inbox:
                return .body(InboxBody(items: view.withLock { $0.inboxItem } == nil ? [] : [Self.item]))
            case .answer:
                guard let answer = try? JSONDecoder().decode(AnswerBody.self, from: body) else {
                    return .error(ProtocolError(.badJSON, "?"))
                }
                decide(answer.decision)
                return .body(answer)
            default:
                return .error(ProtocolError(.unknownType, "not faked"))
            }
        }
    }

    /// Runs a monitor in `mode` against the scripted job, with an event about the job every 50 ms; `operator` acts
    /// meanwhile, as another shell would. Returns the job as the monitor saw it end.
    func follow(
        _ mode: JobMonitor.PermissionMode,
        operator act: @escaping @Sendable (ScriptedJob, FakeControl) async -> Void = { _, _ in }
    ) async throws -> (JobView?, [AnswerBody]) {
        let job = ScriptedJob()
        return try await FakeControl.with(answer: job.reply) { endpoint, fake in
            let ticker = Task {
                var seq: Int64 = 0
                while !Task.isCancelled {
                    seq += 1
                    fake.publish(Event(seq: seq, ts: 0, type: .jobTransition, plan: "j"))
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            defer { ticker.cancel() }
            let operatorTask = Task { await act(job, fake) }
            defer { operatorTask.cancel() }
            // The fake answers at once; a busy machine (the whole suite at once) may not let it within 5 s.
            let monitor = JobMonitor(
                endpoints: Endpoints(work: "tcp://127.0.0.1:1", events: fake.events, control: endpoint),
                start: JobMonitor.Start(goal: "Fix it", repository: "/srv/app", base: nil, id: nil),
                permissions: mode,
                answerArguments: ["--state-dir", "/tmp/s"],
                quiet: true,
                requestTimeout: .seconds(30)
            )
            try await monitor.run()
            return (monitor.final, fake.bodies(.answer, as: AnswerBody.self))
        }
    }

    @Test func approvePermissionsApprovesEveryGrantAndFollowsTheJobToItsEnd() async throws {
        let (final, answers) = try await follow(.approveAll)
        #expect(final?.state == .done)
        #expect(answers == [AnswerBody(item: "item-1", decision: .approve)])
    }

    @Test func withoutATerminalItWaitsForTheAnswerFromElsewhere() async throws {
        let (final, answers) = try await follow(.printCommands) { job, fake in
            // Once the monitor has looked at the item, an operator denies it from another shell.
            _ = await poll(within: .seconds(20)) { fake.requests.withLock { $0.contains { $0.0 == .inbox } } ? true : nil }
            try? await Task.sleep(for: .milliseconds(200))
            job.decide(.deny)
        }
        #expect(final?.state == .cancelled)
        #expect(answers.isEmpty, "the monitor itself answers nothing")
    }
}
