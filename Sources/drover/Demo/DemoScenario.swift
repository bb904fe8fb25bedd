import DroverProtocol
import ScriptedModel

/// The demo: a small repository with a bug, a plan of codex TODOs, and what the scripted model answers to each,
/// chosen so that one session stops early and fails the test, one hangs, one asks a question and one hits a rate
/// limit, and Drover recovers each.
enum DemoScenario {
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

    /// The TODOs, each with a marker in its prompt that picks its script on the model server.
    static func plan(repository: String) -> Plan {
        Plan(
            id: "demo",
            title: "Fix calc and get it ready to publish",
            repository: repository,
            todos: [
                Todo(
                    id: "fix-bug",
                    title: "Fix the addition bug",
                    prompt: "[demo:fix-bug] calc.sh subtracts instead of adding. Fix it so that test.sh passes.",
                    checks: [Check(command: "sh test.sh", timeoutSeconds: 30)]
                ),
                Todo(
                    id: "docs",
                    title: "Document usage",
                    prompt: "[demo:docs] Add a Usage section to README.md.",
                    checks: [Check(file: "README.md", pattern: "## Usage")]
                ),
                Todo(
                    id: "license",
                    title: "Add a license",
                    prompt: "[demo:license] Add a LICENSE file.",
                    checks: [Check(file: "LICENSE")],
                    risk: .low
                ),
                Todo(
                    id: "changelog",
                    title: "Write the changelog",
                    prompt: "[demo:changelog] Write CHANGELOG.md for the fix.",
                    dependsOn: ["fix-bug"],
                    checks: [Check(file: "CHANGELOG.md", pattern: "addition")]
                ),
            ]
        )
    }

    /// What the model does for each TODO.
    static let scripts: [ModelScript] = [
        // Stops early with a wrong fix (the test fails), is sent back with the test's output, fixes it for real.
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
