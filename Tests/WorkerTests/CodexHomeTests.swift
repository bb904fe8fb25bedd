import DroverProtocol
import DroverTesting
import Foundation
import Testing

@testable import Worker

/// Each codex session's `CODEX_HOME`: its own, whoever else runs a session with the same lease id on the host, and
/// gone when the session ends.
@Suite struct CodexHomeTests {
    /// Two coordinators' runs can both have a lease `p/t@1`: each session's home holds its own model server.
    @Test func sessionsWithTheSameLeaseIdGetHomesOfTheirOwn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = "\(directory.path)/codex"
        let first = CodexConfiguration(executable: "codex", baseURL: "http://127.0.0.1:1111/v1", homeRoot: root)
        let second = CodexConfiguration(executable: "codex", baseURL: "http://127.0.0.1:2222/v1", homeRoot: root)
        let firstHome = try first.makeSessionHome(for: "p/t@1")
        let secondHome = try second.makeSessionHome(for: "p/t@1")
        #expect(firstHome != secondHome)
        #expect(firstHome.hasPrefix("\(root)/") && secondHome.hasPrefix("\(root)/"))
        let firstConfig = try String(contentsOfFile: "\(firstHome)/config.toml", encoding: .utf8)
        let secondConfig = try String(contentsOfFile: "\(secondHome)/config.toml", encoding: .utf8)
        #expect(firstConfig.contains("127.0.0.1:1111"), "the first session still talks to its own model server")
        #expect(secondConfig.contains("127.0.0.1:2222"))

        first.removeSessionHome(firstHome)
        #expect(!FileManager.default.fileExists(atPath: firstHome))
        #expect(FileManager.default.fileExists(atPath: "\(secondHome)/config.toml"), "the other session's home stays")
    }

    @Test func aHomeThatCannotBeMadeSaysWhere() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A file where the root should be: no home can be made under it.
        let root = "\(directory.path)/not-a-directory"
        #expect(FileManager.default.createFile(atPath: root, contents: Data("x".utf8)))
        let agent = CodexAgent(configuration: CodexConfiguration(executable: "codex", homeRoot: root))
        let result = await agent.run(
            task: .init(title: "t", command: nil, prompt: "do it", timeoutSeconds: 5, checks: []),
            lease: .init(leaseId: "p/t@1", plan: "p", todo: "t", epoch: 1),
            workdir: directory.path,
            events: { _ in }
        )
        #expect(result.outcome == .failed)
        #expect(result.summary.contains("cannot make a CODEX_HOME in \(root)"), "\(result.summary)")
    }
}
