import DroverProtocol
import Foundation

/// Runs a TODO's acceptance checks in its work directory: commands must exit 0, files must exist, patterns match.
struct CheckRunner {
    var environment: [String: String]
    var directory: String
    var grace: Duration

    func run(_ checks: [Check]) async -> [CheckResult] {
        var results: [CheckResult] = []
        for check in checks {
            if Task.isCancelled { break }
            results.append(await run(check))
        }
        return results
    }

    private func run(_ check: Check) async -> CheckResult {
        if let command = check.command {
            let run = await CommandAgent.shell(
                command,
                environment: environment,
                directory: directory,
                timeout: check.timeoutSeconds ?? 300,
                grace: grace
            )
            if run.timedOut {
                return CheckResult(check: check.description, passed: false, detail: "timed out after \(check.timeoutSeconds ?? 300) s")
            }
            return CheckResult(
                check: check.description,
                passed: run.status == 0,
                detail: run.status == 0 ? "exit 0" : "exit \(run.status): \(run.tail.suffix(1000))"
            )
        }
        guard let file = check.file else { return CheckResult(check: check.description, passed: false, detail: "empty check") }
        let path = file.hasPrefix("/") ? file : "\(directory)/\(file)"
        guard let data = FileManager.default.contents(atPath: path) else {
            return CheckResult(check: check.description, passed: false, detail: "\(file) does not exist")
        }
        guard let pattern = check.pattern else { return CheckResult(check: check.description, passed: true, detail: "exists") }
        guard let regex = try? Regex(pattern) else {
            return CheckResult(check: check.description, passed: false, detail: "the pattern is not a valid regular expression")
        }
        let matched = String(decoding: data, as: UTF8.self).contains(regex)
        return CheckResult(check: check.description, passed: matched, detail: matched ? "matched" : "no match in \(file)")
    }
}
