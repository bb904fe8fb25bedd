import DroverProtocol
import DroverTesting
import Foundation
import ScriptedModel
import Synchronization
import Testing

@testable import Worker

/// A job step's session with the real codex binary against the scripted model, in both modes: the schema reaches the
/// model, an answer that cannot be used goes back with the validator's problems, and the result carries the answer.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: CodexConfiguration.findExecutable() != nil, "needs codex (pip install openai-codex-cli-bin)")
)
struct CodexAnswerTests {
    /// Runs a plan step whose model answers `answers` in turn; returns the result, the model's requests and the
    /// agent events.
    func planStep(
        _ mode: CodexConfiguration.Mode,
        answers: [String],
        context: String? = nil
    ) async throws -> (AgentResult, [RecordedRequest], [AgentEvent]) {
        let server = try ScriptedModelServer(script: ModelScript(answers.map { .message($0) }))
        defer { server.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let workdir = "\(directory.path)/work"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let agent = CodexAgent(
            configuration: CodexConfiguration(
                executable: try #require(CodexConfiguration.findExecutable()),
                mode: mode,
                baseURL: server.baseURL,
                sandbox: "read-only",
                homeRoot: "\(directory.path)/codex-home"
            )
        )
        let task = TaskSpec(
            title: "plan",
            command: nil,
            prompt: "Plan the work.",
            timeoutSeconds: 60,
            checks: [],
            context: context,
            output: OutputSpec(step: .plan)
        )
        let events = Mutex<[AgentEvent]>([])
        let result = await agent.run(
            task: task,
            lease: LeaseRef(leaseId: "j/plan@1", plan: "j", todo: "plan", epoch: 1),
            workdir: workdir,
            events: { new in events.withLock { $0 += new } }
        )
        let homes = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory.path)/codex-home")) ?? []
        #expect(homes.isEmpty, "the session's CODEX_HOME is removed when it ends: \(homes)")
        return (result, server.responseRequests, events.withLock { $0 })
    }

    /// The `text.format` of a Responses request.
    func format(_ request: RecordedRequest) -> [String: Any]? {
        let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
        return (body?["text"] as? [String: Any])?["format"] as? [String: Any]
    }

    /// Whether a request asks for the plan step's schema: `"text":{"format":{"type":"json_schema", … "schema": …}}`.
    func asksForThePlanSchema(_ request: RecordedRequest) throws -> Bool {
        guard let format = format(request), format["type"] as? String == "json_schema", let schema = format["schema"] else {
            return false
        }
        let sent = try JSONDecoder().decode(JSONValue.self, from: JSONSerialization.data(withJSONObject: schema))
        return sent == JobStep.plan.schema
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func aUsableAnswerIsTheResultsOutput(mode: CodexConfiguration.Mode) async throws {
        let (result, requests, _) = try await planStep(mode, answers: [StepAnswerSamples.plan], context: "# Context\nNotes.")
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        #expect(result.output == StepAnswerSamples.plan)
        let request = try #require(requests.first)
        #expect(try asksForThePlanSchema(request), "\(request.text.prefix(3000))")
        #expect(request.text.contains(#"# Context\nNotes.\n\n---\n\n# Your task\n\nPlan the work."#), "the context, then the task")
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func anUnusableAnswerGoesBackWithItsProblemsAndTheNextOneIsKept(mode: CodexConfiguration.Mode) async throws {
        let (result, requests, events) = try await planStep(mode, answers: [StepAnswerSamples.cycle, StepAnswerSamples.plan])
        #expect(result.outcome == .succeeded, "\(result.summary)\n\(result.outputTail)")
        #expect(result.output == StepAnswerSamples.plan)
        #expect(requests.count == 2)
        let repair = try #require(requests.last)
        #expect(repair.text.contains(StepAnswerSamples.cycleProblem), "the validator's problem reached the model")
        #expect(try asksForThePlanSchema(repair), "the schema is given on every turn")
        #expect(events.contains { $0.kind == .detected && $0.detection == .invalidAnswer })
    }

    @Test(arguments: CodexConfiguration.Mode.allCases)
    func noUsableAnswerInThreeFailsTheStep(mode: CodexConfiguration.Mode) async throws {
        let cycle = StepAnswerSamples.cycle
        let (result, requests, _) = try await planStep(mode, answers: [cycle, cycle, cycle, StepAnswerSamples.plan])
        #expect(result.outcome == .failed)
        #expect(result.summary == "the plan answer was not usable after 3 answers:\n- \(StepAnswerSamples.cycleProblem)")
        #expect(requests.count == 3)
    }
}
