import DroverProtocol
import Testing

@Suite struct IdentifierTests {
    @Test(arguments: ["a", "Z", "0", "build", "release-1", "step_2", "A-b_C-9", String(repeating: "x", count: 64)])
    func valid(id: String) {
        #expect(Identifier.isValid(id))
        #expect(Identifier.problem(with: id) == nil)
    }

    @Test(arguments: [
        "", "-a", "_a", "a.b", "a b", "a/b", "a:b", "é", "caf\u{E9}", "a\n", String(repeating: "x", count: 65),
    ])
    func invalid(id: String) {
        #expect(!Identifier.isValid(id))
        #expect(Identifier.problem(with: id) != nil)
    }

    @Test func problemsSayWhatIsWrong() {
        #expect(Identifier.problem(with: "") == "is empty")
        #expect(Identifier.problem(with: String(repeating: "x", count: 65)) == "is longer than 64 characters")
        let dotted = Identifier.problem(with: "a.b")
        #expect(dotted?.contains("\"a.b\"") == true)
        #expect(dotted?.contains("letters, digits, '_' and '-'") == true)
    }

    @Test func lengthIsCountedInBytes() {
        // 32 two-byte characters are 64 bytes but the characters are not allowed anyway; the limit is on the bytes.
        #expect(!Identifier.isValid(String(repeating: "é", count: 32)))
        #expect(Identifier.maxLength == 64)
    }
}
