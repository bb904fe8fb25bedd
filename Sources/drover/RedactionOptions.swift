import ArgumentParser
import DroverProtocol
import Foundation

/// `--secret-env NAME`: environment variables whose values are taken out of everything Drover stores or publishes,
/// beside the ones whose names say so (docs/security.md).
struct RedactionOptions: ParsableArguments {
    @Option(
        name: .customLong("secret-env"),
        help: ArgumentHelp(
            "An environment variable whose value is a secret, taken out of agent events, output, reports and logs (repeatable). Variables named *_TOKEN, *_SECRET, *_PASSWORD, *_API_KEY and OPENAI_API_KEY are always.",
            valueName: "name"
        )
    )
    var names: [String] = []

    var redactor: Redactor {
        Redactor(knownSecrets: Redactor.secrets(in: ProcessInfo.processInfo.environment, names: names))
    }
}
