import Testing

@testable import Worker

/// `codex --version` read, releases compared, and the range Drover supports.
@Suite struct CodexVersionTests {
    @Test(arguments: [
        ("codex-cli 0.163.0", CodexVersion(0, 163, 0)),
        ("codex-cli 0.133.0\n", CodexVersion(0, 133, 0)),
        ("0.153.4", CodexVersion(0, 153, 4)),
        ("codex-cli 0.164.0-alpha.2", CodexVersion(0, 164, 0)),
        ("codex-cli v1.2.3", CodexVersion(1, 2, 3)),
        ("codex 2.0.10 (build abc)", CodexVersion(2, 0, 10)),
    ])
    func aReleaseIsReadFromWhatVersionPrints(output: String, expected: CodexVersion) {
        #expect(CodexVersion(output) == expected)
    }

    @Test(arguments: ["", "codex-cli", "codex-cli 0.163", "codex-cli dev", "error: unexpected argument"])
    func outputWithNoReleaseIsNone(output: String) {
        #expect(CodexVersion(output) == nil)
    }

    @Test func releasesCompareNumberByNumber() {
        #expect(CodexVersion(0, 99, 0) < CodexVersion(0, 100, 0))
        #expect(CodexVersion(0, 153, 4) < CodexVersion(0, 154, 0))
        #expect(CodexVersion(0, 163, 0) < CodexVersion(1, 0, 0))
        #expect(CodexVersion(0, 162, 1) > CodexVersion(0, 162, 0))
        #expect(CodexVersion(0, 163, 0) == CodexVersion("codex-cli 0.163.0"))
        #expect(CodexVersion(0, 163, 0).description == "0.163.0")
    }

    @Test func theSupportedRangeStartsAtTheFloorAndHasNoCeiling() {
        #expect(CodexVersion.floor == CodexVersion(0, 147, 0))
        #expect(CodexVersion.floor.isSupported)
        #expect(CodexVersion.newestTested.isSupported)
        #expect(CodexVersion(0, 133, 0).isSupported == false)
        #expect(CodexVersion(0, 144, 4).isSupported == false)
        #expect(CodexVersion(0, 146, 9).isSupported == false)
        #expect(CodexVersion(0, 100, 0).isSupported == false)
        #expect(CodexVersion(0, 200, 0).isSupported)
        #expect(CodexVersion(0, 200, 0).isNewerThanTested)
        #expect(CodexVersion.newestTested.isNewerThanTested == false)
        #expect(CodexVersion.installCommand == "pip install --upgrade 'openai-codex-cli-bin>=0.147.0'")
    }

    @Test func theInstalledCodexIsInTheSupportedRange() async throws {
        guard let executable = CodexConfiguration.findExecutable() else { return }
        let (output, version) = await CodexVersion.of(executable: executable)
        let found = try #require(version, "\(executable) --version: \(output)")
        #expect(found.isSupported, "\(executable) is \(found)")
    }

    @Test func aMissingExecutableHasNoVersion() async {
        let (_, version) = await CodexVersion.of(executable: "/nonexistent/codex")
        #expect(version == nil)
    }
}
