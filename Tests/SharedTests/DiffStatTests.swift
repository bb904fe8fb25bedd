import DroverProtocol
import Testing

/// `git --numstat` read into a diff stat: what a TODO's report says of how much its branch changed.
@Suite struct DiffStatTests {
    @Test func numstatCountsLinesAndEachFileOnce() {
        let output = "3\t1\tSources/App.swift\n-\t-\tlogo.png\n\n2\t0\tSources/App.swift\n0\t4\tREADME.md\n"
        let (stat, files) = DiffStat.numstat(output)
        #expect(stat == DiffStat(files: 3, insertions: 5, deletions: 5), "a binary file counts no lines")
        #expect(files == ["README.md", "Sources/App.swift", "logo.png"])
        #expect(stat.summary == "3 files, +5 −5")
        #expect(DiffStat(files: 1, insertions: 1, deletions: 0).summary == "1 file, +1 −0")
    }

    @Test func linesThatAreNotNumstatAreIgnored() {
        let (stat, files) = DiffStat.numstat("warning: something\n1\t2\n\t\t\n")
        #expect(stat == DiffStat(files: 0, insertions: 0, deletions: 0))
        #expect(files.isEmpty)
    }

    @Test func aReportThatCountsSomethingNegativeIsRefused() throws {
        var body = ReportBody(
            leaseId: "p/t@1",
            epoch: 1,
            outcome: .succeeded,
            exitCode: 0,
            summary: "ok",
            outputTail: "",
            durationMs: 1,
            checks: [],
            diffStat: DiffStat(files: 1, insertions: -1, deletions: 0)
        )
        #expect(throws: ProtocolError.self) { try body.validate() }
        body.diffStat = DiffStat(files: 1, insertions: 1, deletions: 0)
        try body.validate()
    }
}
