import Foundation
import Testing
import Worker

/// `drover demo`, the README's main job: a goal taken through the job's steps to a plan, real codex sessions that go
/// wrong, and Drover recovering each.
@Suite(.timeLimit(.minutes(2)), .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)"))
struct DemoTests {
    @Test func theDemoRecoversEverySessionAndFinishesThePlan() async throws {
        let directory = "/tmp/drover-demo-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try TestProcess(name: "demo", arguments: ["demo", "--dir", directory], directory: "/tmp")
        let status = try await demo.wait(timeout: .seconds(90))
        let output = demo.output
        #expect(status == 0, "\(output)")
        #expect(output.contains("job demo done"), "\(output)")
        for move in [
            "classify → investigate", "investigate → plan", "plan → permission_negotiate", "permission_negotiate → execute",
            "execute → finalize", "finalize → done",
        ] {
            #expect(output.contains("job demo: \(move)"), "\(move) in:\n\(output)")
        }
        #expect(output.contains("asks for permissions (inbox item demo-permissions-1)"))
        #expect(output.contains("demo-plan detected invalid_answer"), "the first plan is sent back")
        #expect(output.contains("4 of 4 merged into drover/demo/integration"), "the work ends in one branch")
        for todo in ["fix-bug", "docs", "license", "changelog"] {
            #expect(output.contains("(tag drover/demo/after-\(todo))"))
        }
        for detection in ["checks_failed", "hung", "asks_human", "transient_error"] {
            #expect(output.contains("detected \(detection)"), "\(detection) in:\n\(output)")
        }
        for todo in ["fix-bug", "docs", "license", "changelog"] {
            #expect(output.contains("pushed to drover/demo/\(todo)"))
        }
    }
}
