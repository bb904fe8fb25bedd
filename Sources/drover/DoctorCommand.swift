import ArgumentParser
import Coordinator
import DroverClients
import DroverProtocol
import DroverTransport
import Foundation
import Worker

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what Drover needs on this machine, and say how to fix what is missing."
    )

    @Option(help: "The state directory to check.") var stateDir = ".drover"
    @Option(help: "The codex executable to check (default: found as for `drover worker --agent codex`).") var codex: String?
    @Flag(help: "Print the findings as JSON.") var json = false
    @Option(help: "A secret key file to check (default: $DROVER_SECRET_KEY).") var secretKey: String?
    @Option(help: "An authorized-keys directory to check (default: $DROVER_AUTHORIZED_KEYS).") var authorizedKeys: String?

    struct Finding: Encodable {
        var check: String
        var ok: Bool
        var detail: String
        /// What to do when it is not ok.
        var fix: String?
        /// For `codex version`: the release found, and whether Drover supports it.
        var version: String?
        var supported: Bool?
        var supportedRange: String?
    }

    func run() async throws {
        var findings: [Finding] = []
        findings.append(
            Finding(check: "libzmq", ok: ZMQContext.has("ipc"), detail: "ZeroMQ \(ZMQContext.version)", fix: "apt-get install libzmq3-dev")
        )

        let git = await Self.capture(["/usr/bin/env", "git", "--version"])
        findings.append(Finding(check: "git", ok: git.status == 0, detail: git.output, fix: "apt-get install git"))

        if let path = codex ?? CodexConfiguration.findExecutable() {
            let version = await Self.capture([path, "--version"])
            findings.append(
                Finding(
                    check: "codex",
                    ok: version.status == 0,
                    detail: "\(version.output) at \(path)",
                    fix: "pip install --force-reinstall openai-codex-cli-bin"
                )
            )
            if version.status == 0 { findings.append(Self.versionFinding(output: version.output)) }
            let environment = ProcessInfo.processInfo.environment
            let keys = ["OPENAI_API_KEY", "CODEX_API_KEY"].filter { !(environment[$0] ?? "").isEmpty }
            let authFile = FileManager.default.fileExists(atPath: "\(environment["CODEX_HOME"] ?? "\(NSHomeDirectory())/.codex")/auth.json")
            findings.append(
                Finding(
                    check: "model credentials",
                    ok: !keys.isEmpty || authFile,
                    detail: keys.isEmpty
                        ? (authFile ? "codex auth file found" : "no API key in the environment, no codex auth file")
                        : "\(keys.joined(separator: ", ")) set (value not shown)",
                    fix: "export OPENAI_API_KEY=…, or run `codex login`; `drover demo` needs neither (it uses a scripted model)"
                )
            )
        } else {
            findings.append(
                Finding(
                    check: "codex",
                    ok: false,
                    detail: "not found on PATH, in DROVER_CODEX, or in the Python package",
                    fix: "pip install openai-codex-cli-bin"
                )
            )
        }

        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: stateDir, isDirectory: &isDirectory)
        let writable = exists ? FileManager.default.isWritableFile(atPath: stateDir) : FileManager.default.isWritableFile(atPath: ".")
        findings.append(
            Finding(
                check: "state directory",
                ok: writable && (!exists || isDirectory.boolValue),
                detail: exists
                    ? "\(stateDir) exists\(writable ? " and is writable" : " but is not writable")" : "\(stateDir) will be created",
                fix: "choose a writable --state-dir"
            )
        )

        findings.append(contentsOf: securityFindings())

        if json {
            printJSON(findings)
        } else {
            for finding in findings {
                print("\(finding.ok ? "ok  " : "FAIL") \(finding.check): \(finding.detail)")
                if !finding.ok, let fix = finding.fix { print("     fix: \(fix)") }
            }
        }
        if findings.contains(where: { !$0.ok && $0.check != "model credentials" }) { throw ExitCode(1) }
    }

    /// Whether this setup is secured (docs/security.md): libzmq can do CURVE, the keys given can be used, and a
    /// coordinator recorded in the state directory does not listen beyond loopback unless keys are configured here.
    func securityFindings() -> [Finding] {
        let secret = flagOrEnvironment(secretKey, "DROVER_SECRET_KEY")
        let authorized = flagOrEnvironment(authorizedKeys, "DROVER_AUTHORIZED_KEYS")
        var findings = [
            Finding(
                check: "CURVE",
                ok: ZMQContext.has("curve"),
                detail: ZMQContext.has("curve") ? "libzmq can encrypt and authenticate (CURVE)" : "this libzmq was built without CURVE",
                fix: "install a libzmq built with libsodium or its own tweetnacl (Debian's libzmq5 is)"
            )
        ]
        var keyProblems: [String] = []
        var keyDetails: [String] = []
        if let secret {
            do {
                let pair = try Certificate.readSecret(at: secret)
                keyDetails.append("secret key \(secret) (public \(pair.publicKey.fingerprint)…)")
            } catch { keyProblems.append("\(error)") }
        }
        if let authorized {
            do {
                let (keys, problems) = try AuthorizedKeys.read(from: authorized)
                let counts = AuthorizedKeys.roles.map { role in
                    "\(keys.holders.values.filter { $0.role == role }.count) \(role.directoryName)"
                }
                keyDetails.append("authorized keys in \(authorized): \(counts.joined(separator: ", "))")
                keyProblems += problems.map(\.message)
            } catch { keyProblems.append("\(error)") }
        }
        let exposed = EndpointsFile.read(in: stateDir).map(BindExposure.exposed) ?? []
        let secured = secret != nil && keyProblems.isEmpty
        if !keyProblems.isEmpty {
            findings.append(
                Finding(check: "keys", ok: false, detail: keyProblems.joined(separator: "; "), fix: "see docs/security.md")
            )
        } else if secured {
            findings.append(Finding(check: "keys", ok: true, detail: "secured: " + keyDetails.joined(separator: "; ")))
        } else {
            findings.append(
                Finding(
                    check: "keys",
                    ok: exposed.isEmpty,
                    detail: exposed.isEmpty
                        ? "not secured: no keys given (none needed on one machine: ipc:// and loopback)"
                        : "not secured, and the coordinator of \(stateDir) listens on \(exposed.joined(separator: ", ")): anyone who "
                            + "can reach it can run commands on every worker",
                    fix: "make keys with `drover keygen` and start the coordinator with --secret-key and --authorized-keys "
                        + "(docs/security.md); check them here with --secret-key and --authorized-keys"
                )
            )
        }
        return findings
    }

    /// Whether the release `codex --version` printed is one Drover supports (`CodexVersion.supported`).
    static func versionFinding(output: String) -> Finding {
        let range = "\(CodexVersion.supported.lowerBound) or later"
        guard let version = CodexVersion(output) else {
            return Finding(
                check: "codex version",
                ok: false,
                detail:
                    "no release number in `codex --version`'s output \"\(output)\"; Drover supports \(CodexVersion.supportedDescription)",
                fix: "\(CodexVersion.installCommand), or set DROVER_CODEX to a supported codex",
                supportedRange: range
            )
        }
        let detail: String
        if !version.isSupported {
            detail = "\(version) is older than Drover supports: \(CodexVersion.supportedDescription)"
        } else if version.isNewerThanTested {
            detail = "\(version), supported: \(range); newer than the newest tested, \(CodexVersion.newestTested)"
        } else {
            detail = "\(version), supported: \(CodexVersion.supportedDescription)"
        }
        return Finding(
            check: "codex version",
            ok: version.isSupported,
            detail: detail,
            fix: "\(CodexVersion.installCommand), or set DROVER_CODEX to a supported codex",
            version: version.description,
            supported: version.isSupported,
            supportedRange: range
        )
    }

    static func capture(_ arguments: [String]) async -> (status: Int32, output: String) {
        guard let (status, output) = try? await GuardedProcess.output(of: arguments, in: nil) else {
            return (127, "cannot start \(arguments[0])")
        }
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
