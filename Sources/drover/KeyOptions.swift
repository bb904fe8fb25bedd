import ArgumentParser
import DroverTransport
import Foundation

/// `--secret-key` and `--coordinator-key`: the CURVE keys a worker or client connects with, when the coordinator has
/// keys (`docs/security.md`). Each falls back on an environment variable, for systemd env files and containers.
struct ClientKeyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "This side's secret key file, NAME.key_secret from `drover keygen` (default: $DROVER_SECRET_KEY).",
            discussion: "Needed when the coordinator has keys; give --coordinator-key with it.",
            valueName: "file"
        )
    )
    var secretKey: String?

    @Option(help: ArgumentHelp("The coordinator's public key file, coordinator.key (default: $DROVER_COORDINATOR_KEY).", valueName: "file"))
    var coordinatorKey: String?

    private var secretKeyPath: String? { flagOrEnvironment(secretKey, "DROVER_SECRET_KEY") }
    private var coordinatorKeyPath: String? {
        flagOrEnvironment(coordinatorKey, "DROVER_COORDINATOR_KEY")
    }

    /// How to connect: CURVE with the keys given, or no keys when neither is given.
    /// - Throws: `ValidationError` when only one is given; ``KeyFileError`` naming a file that cannot be used.
    func security() throws -> SocketSecurity {
        switch (secretKeyPath, coordinatorKeyPath) {
        case (nil, nil):
            return .none
        case (let secret?, let coordinator?):
            let pair = try Certificate.readSecret(at: secret)
            let server = try Certificate.readPublic(at: coordinator).publicKey
            return .curveClient(pair, server: server)
        case (_?, nil):
            throw ValidationError(
                "--secret-key needs --coordinator-key FILE too (or $DROVER_COORDINATOR_KEY): the coordinator's public key, coordinator.key"
            )
        case (nil, _?):
            throw ValidationError(
                "--coordinator-key needs --secret-key FILE too (or $DROVER_SECRET_KEY): this side's own key, from `drover keygen NAME`"
            )
        }
    }
}

/// A coordinator's `--secret-key`, `--authorized-keys` and `--insecure`.
struct CoordinatorKeyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The coordinator's secret key file, from `drover keygen coordinator --role coordinator` (default: $DROVER_SECRET_KEY).",
            valueName: "file"
        )
    )
    var secretKey: String?

    @Option(
        help: ArgumentHelp(
            "A directory of the public keys to admit, in workers/, operators/ and observers/; read again when it changes (default: $DROVER_AUTHORIZED_KEYS).",
            valueName: "dir"
        )
    )
    var authorizedKeys: String?

    @Flag(help: "Listen on addresses other machines can reach without keys (anyone who connects can run commands on every worker).")
    var insecure = false

    /// The keys, or nil when none are given.
    /// - Throws: `ValidationError` when only one of the two is given; ``KeyFileError`` naming a file that cannot be used.
    func keys() throws -> (keyPair: KeyPair, authorizedKeys: String)? {
        let secret = flagOrEnvironment(secretKey, "DROVER_SECRET_KEY")
        let authorized = flagOrEnvironment(authorizedKeys, "DROVER_AUTHORIZED_KEYS")
        switch (secret, authorized) {
        case (nil, nil): return nil
        case (let secret?, let authorized?): return (try Certificate.readSecret(at: secret), authorized)
        case (_?, nil):
            throw ValidationError("--secret-key needs --authorized-keys DIR too (or $DROVER_AUTHORIZED_KEYS): the public keys to admit")
        case (nil, _?):
            throw ValidationError(
                "--authorized-keys needs --secret-key FILE too (or $DROVER_SECRET_KEY): the coordinator's own key, from `drover keygen coordinator --role coordinator`"
            )
        }
    }
}

/// A flag's value, else the environment variable `name` when it is set and not empty (systemd env files, containers).
func flagOrEnvironment(_ flag: String?, _ name: String) -> String? {
    if let flag { return flag }
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}
