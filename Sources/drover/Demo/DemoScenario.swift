import DroverProtocol
import Foundation
import ScriptedModel

/// The demo: a small repository with a bug, a goal, and what the scripted model answers to each of the job's steps
/// and to each TODO of the plan it makes, chosen so that the planner's first plan is sent back, one session stops
/// early and fails the test, one hangs, one asks a question and one hits a rate limit, and Drover recovers each.
enum DemoScenario {
    /// What the user asks for.
    static let goal = "Fix calc.sh so that test.sh passes, then get calc ready to publish: usage docs, a license and a changelog."
    /// The files of the sample repository's first commit.
    static let files: [String: String] = [
        "README.md": "# calc\n\nAdds two numbers.\n",
        "calc.sh": "#!/bin/sh\n# usage: sh calc.sh A B  (prints A + B)\necho $(( $1 - $2 ))\n",
        "test.sh": """
        #!/bin/sh
        got=$(sh calc.sh 2 3)
        if [ "$got" = 5 ]; then echo PASS; else echo "FAIL: calc.sh 2 3 gave $got, expected 5"; exit 1; fi

        """,
    ]

    /// The planner's plan: each TODO's prompt has a marker that picks its script on the model server. The changelog
    /// is of high risk (it is what users read first), so the job asks for that permission.
    static let plannedWork = PlannedWork(
        title: "Fix calc and get it ready to publish",
        todos: [
            .init(
                id: "fix-bug",
                title: "Fix the addition bug",
                prompt: "[demo:fix-bug] calc.sh subtracts instead of adding. Fix it so that test.sh passes.",
                checks: ["sh test.sh"],
                estimateMinutes: 5,
                files: ["calc.sh"]
            ),
            .init(
                id: "docs",
                title: "Document usage",
                prompt: "[demo:docs] Add a Usage section to README.md.",
                checks: ["grep -q '## Usage' README.md"],
                estimateMinutes: 3,
                files: ["README.md"]
            ),
            .init(
                id: "license",
                title: "Add a license",
                prompt: "[demo:license] Add a LICENSE file.",
                checks: ["test -f LICENSE"],
                estimateMinutes: 2,
                files: ["LICENSE"]
            ),
            .init(
                id: "changelog",
                title: "Write the changelog",
                prompt: "[demo:changelog] Write CHANGELOG.md for the fix.",
                dependsOn: ["fix-bug"],
                checks: ["grep -q addition CHANGELOG.md"],
                risk: .high,
                estimateMinutes: 3,
                files: ["CHANGELOG.md"]
            ),
        ]
    )

    /// The planner's first answer: the changelog waits for itself, which the plan validator refuses.
    static var firstPlan: PlannedWork {
        var work = plannedWork
        work.todos[3].dependsOn = ["changelog"]
        return work
    }

    static let classification = Classification(
        kind: .multiFileChange,
        complexity: "low",
        needsInvestigation: true,
        summary: "Fix the addition in calc.sh, then add usage docs, a license and a changelog."
    )

    static let investigation = Investigation(
        summary: "A shell calculator: calc.sh adds two numbers, test.sh checks it.",
        layout: "calc.sh, test.sh and README.md at the top.",
        conventions: "POSIX sh; Markdown docs.",
        constraints: "Keep the usage `sh calc.sh A B`.",
        build: "Nothing to build.",
        test: "sh test.sh",
        files: ["calc.sh", "test.sh", "README.md"],
        risks: ["calc.sh subtracts today: test.sh fails until it is fixed."]
    )

    static func json(_ value: some Encodable) -> String { String(decoding: try! JSONEncoder().encode(value), as: UTF8.self) }

    /// What the model answers to the job's steps and to each TODO.
    static let scripts: [ModelScript] = [
        ModelScript([.message(json(classification))], match: "Drover job step: classify"),
        ModelScript([.shell("cat calc.sh test.sh"), .message(json(investigation))], match: "Drover job step: investigate"),
        // The first plan has a cycle: it is sent back with the validator's words, and the second is right.
        ModelScript([.message(json(firstPlan)), .message(json(plannedWork))], match: "Drover job step: plan"),
        // Says a wrong fix is done (the test fails: checks_failed), is sent back with the test's output, fixes it for real.
        ModelScript(
            [
                .shell("sed -i 's/- \\$2/* $2/' calc.sh"), .message("Fixed the operator in calc.sh."),
                .shell("sed -i 's/\\* \\$2/+ $2/' calc.sh && sh test.sh"), .message("calc.sh adds now, and test.sh passes."),
            ],
            match: "[demo:fix-bug]"
        ),
        // Goes silent on its first request: the watchdog stops codex and resumes the thread with a nudge.
        ModelScript(
            [
                .once(.silence, then: .shell("printf '\\n## Usage\\n\\n    sh calc.sh 2 3\\n' >> README.md")),
                .message("README.md has a Usage section."),
            ],
            match: "[demo:docs]"
        ),
        // Asks instead of doing: low risk, so the policy answers "decide yourself".
        ModelScript(
            [
                .message("Which license would you like, MIT or Apache-2.0?"), .shell("printf 'MIT License\\n' > LICENSE"),
                .message("Added the MIT license."),
            ],
            match: "[demo:license]"
        ),
        // Hits a rate limit once: Drover waits as long as the server asked and tries the turn again.
        ModelScript(
            [
                .once(
                    .failed(code: "rate_limit_exceeded", message: "Rate limit reached for gpt-5.5. Please try again in 1s."),
                    then: .shell("printf '# Changelog\\n\\n- Fix addition in calc.sh\\n' > CHANGELOG.md")
                ),
                .message("Wrote CHANGELOG.md."),
            ],
            match: "[demo:changelog]"
        ),
    ]
}
