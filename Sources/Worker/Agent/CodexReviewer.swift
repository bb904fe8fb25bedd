public import DroverProtocol
import Foundation

/// A read-only Codex session that reads a review and writes a short narrative of it (`drover review --ai`).
///
/// One `codex exec` turn in an empty folder, with a JSON Schema for its final message (`--output-schema`), so the
/// answer is structured; the figures stay the coordinator's and the prose is marked as the model's.
public struct CodexReviewer: Sendable {
    public var configuration: CodexConfiguration
    /// Seconds the turn may take.
    public var timeout: Double

    public init(configuration: CodexConfiguration, timeout: Double = 300) {
        self.configuration = configuration
        self.timeout = timeout
    }

    /// The final message's schema: a summary, concerns and suggestions.
    static let schema = """
        {"type":"object","additionalProperties":false,"required":["summary","concerns","suggestions"],
         "properties":{"summary":{"type":"string"},"concerns":{"type":"array","items":{"type":"string"}},
                       "suggestions":{"type":"array","items":{"type":"string"}}}}
        """

    private struct Answer: Decodable {
        var summary: String
        var concerns: [String]
        var suggestions: [String]
    }

    public func narrate(_ review: ReviewBody) async throws -> ReviewBody.Narrative {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drover-review-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try configuration.prepareHome(at: "\(folder)/home")
        try Self.schema.write(toFile: "\(folder)/schema.json", atomically: true, encoding: .utf8)
        let figures = String(decoding: WireCodec().json(review), as: UTF8.self)
        let prompt = """
            You review the progress of a fleet of coding agents run by Drover. Below is the coordinator's review as JSON: \
            progress, velocity, an ETA with its critical path, bottlenecks, risks and ranked next steps. Do not run commands. \
            Answer with a summary of two or three sentences for the operator, the concerns that matter most, and concrete \
            suggestions. Use only the figures given; do not invent any.

            \(figures)
            """
        let arguments = [
            configuration.executable, "exec", "--json", "--skip-git-repo-check", "-s", "read-only", "-C", folder, "-m", configuration.model,
            "--output-schema", "\(folder)/schema.json", "-o", "\(folder)/answer.json", prompt,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["CODEX_HOME"] = "\(folder)/home"
        let run = await ProcessRun.run(arguments, environment: environment, directory: folder, timeout: timeout, grace: .seconds(2))
        guard run.status == 0, !run.timedOut else {
            let why = run.timedOut ? "took longer than \(Int(timeout)) s" : "exited with status \(run.status)"
            throw DroverError(.codex, "the Codex reviewer \(why): \(run.tail.suffix(600))")
        }
        guard let data = FileManager.default.contents(atPath: "\(folder)/answer.json"), !data.isEmpty,
            let answer = try? JSONDecoder().decode(Answer.self, from: data)
        else {
            throw DroverError(.codex, "the Codex reviewer's answer is not the JSON its schema asks for: \(run.tail.suffix(600))")
        }
        return ReviewBody.Narrative(
            source: "codex",
            model: configuration.model,
            summary: answer.summary,
            concerns: answer.concerns,
            suggestions: answer.suggestions
        )
    }
}
