import DroverProtocol
import Testing

@testable import Worker

/// Where a merge starts, from where its integration branch is found: values only.
struct MergeStartTests {
    static func spec(expect: String?) -> MergeSpec {
        MergeSpec(
            todo: "a",
            title: "A",
            branch: "drover/p/a",
            integration: "drover/p/integration",
            expect: expect,
            base: nil,
            baseTag: "drover/p/base",
            tag: "drover/p/after-a"
        )
    }

    @Test func aMissingBranchIsMadeFromTheBaseWhenNoneWasExpected() {
        #expect(MergeStart.decide(Self.spec(expect: nil), head: nil, branchMerged: false) == .fromBase)
    }

    @Test func aMissingBranchThatWasExpectedMoved() {
        #expect(
            MergeStart.decide(Self.spec(expect: "1234567890"), head: nil, branchMerged: false)
                == .moved(head: nil, detail: "drover/p/integration does not exist, but was expected at 1234567")
        )
    }

    @Test func theExpectedHeadIsMergedOnto() {
        #expect(MergeStart.decide(Self.spec(expect: "abc"), head: "abc", branchMerged: true) == .onto("abc"))
    }

    @Test func anotherHeadWithTheBranchInItIsAMergeAlreadyApplied() {
        #expect(MergeStart.decide(Self.spec(expect: "abc"), head: "def", branchMerged: true) == .merged(head: "def"))
        #expect(MergeStart.decide(Self.spec(expect: nil), head: "def", branchMerged: true) == .merged(head: "def"))
    }

    @Test func anotherHeadWithoutTheBranchMoved() {
        #expect(
            MergeStart.decide(Self.spec(expect: "abc"), head: "def", branchMerged: false)
                == .moved(head: "def", detail: "drover/p/integration is at def, but was expected at abc, and drover/p/a is not in it")
        )
        #expect(
            MergeStart.decide(Self.spec(expect: nil), head: "def", branchMerged: false)
                == .moved(
                    head: "def",
                    detail: "drover/p/integration is at def, but was expected not to exist yet, and drover/p/a is not in it"
                )
        )
    }

    @Test func conflictHunksAreBoundedAtALine() {
        let text = String(repeating: "0123456789abcde\n", count: 2048)  // 32 KB
        let bounded = IntegrationMerge.bounded(text, cut: false)
        #expect(bounded.utf8.count <= IntegrationMerge.detailLimit)
        #expect(bounded.hasSuffix("0123456789abcde\n… (cut at 16 KB)"))
        #expect(IntegrationMerge.bounded("short\n", cut: false) == "short\n")
    }
}
