import DroverProtocol
import Testing

@Suite struct FileGlobTests {
    @Test(arguments: [
        ("Sources/App/Routes.swift", "Sources/App/*.swift", true),
        ("Sources/App/Deep/Routes.swift", "Sources/App/*.swift", false),
        ("Sources/App/Deep/Routes.swift", "Sources/**", true),
        ("Sources/App/Routes.swift", "Sources/**/*.swift", true),
        ("Sources/Routes.swift", "Sources/**/*.swift", true),
        ("README.md", "README.md", true),
        ("./README.md", "README.md", true),
        ("README.md", "READ?E.md", true),
        ("docs/a.md", "*.md", false),
    ])
    func pathsMatchGlobs(path: String, pattern: String, matches: Bool) {
        #expect(FileGlob.matches(path, pattern) == matches)
    }

    @Test func twoSetsOverlapWhenAFileMayBeInBoth() {
        #expect(FileGlob.mayOverlap(["Sources/App/*.swift"], ["Sources/App/Routes.swift"]))
        #expect(FileGlob.mayOverlap(["Sources/**"], ["Sources/App/*.swift"]), "one prefix holds the other")
        #expect(!FileGlob.mayOverlap(["Sources/App/*.swift"], ["docs/*.md", "README.md"]))
        #expect(!FileGlob.mayOverlap([], ["README.md"]))
        #expect(FileGlob.overlapping(["a.txt", "docs/*.md"], ["docs/guide.md"]) == ["docs/*.md"])
    }
}
