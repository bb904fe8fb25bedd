import ArgumentParser
import Coordinator
import DroverClients
import DroverTransport
import Foundation
import Logging

/// `--log-level`, shared by the long-running commands.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Least severe log level written to stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrap(label: String) -> Logger { bootstrapLogging(label: label, level: logLevel) }
}

/// Sends log lines at `level` and above to stderr.
func bootstrapLogging(label: String, level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: label)
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Where to find a coordinator's control or event endpoint: a flag, else the state directory's `endpoints.json`,
/// else the default port. Commands that can do without a coordinator read (or, for `drover rollback`, change) the
/// state directory itself.
struct CoordinatorLocation: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: "State directory: its endpoints.json names the coordinator; read directly when none is needed (default: .drover)."
    )
    var explicitStateDir: String?

    /// The state directory: `--state-dir`, else `.drover`.
    var stateDir: String { explicitStateDir ?? ".drover" }

    @Option(help: "The coordinator's control endpoint (default: from the state directory, else tcp://127.0.0.1:7102).")
    var control: String?

    @Option(help: "The coordinator's event endpoint (default: from the state directory, else tcp://127.0.0.1:7101).")
    var events: String?

    @OptionGroup(title: "Keys") var keys: ClientKeyOptions

    /// A client of the control endpoint, with the keys given.
    func controlClient(timeout: Duration = .seconds(5)) throws -> ControlClient {
        ControlClient(endpoint: controlEndpoint, timeout: timeout, security: try keys.security())
    }

    private var recorded: Endpoints { EndpointsFile.read(in: stateDir) ?? Endpoints() }
    var controlEndpoint: String { control ?? Endpoints.connectable(recorded.control) }
    var eventsEndpoint: String { events ?? Endpoints.connectable(recorded.events) }
}

/// `--http HOST:PORT` as host and port; `nil` for `none`.
func httpAddress(_ value: String) throws -> CoordinatorApplication.HTTPAddress? {
    guard value != "none" else { return nil }
    guard let colon = value.lastIndex(of: ":"), colon != value.startIndex, let port = Int(value[value.index(after: colon)...]),
        (0...65535).contains(port)
    else {
        throw ValidationError("--http \(value) must be HOST:PORT, e.g. 127.0.0.1:7180 (port 0 picks a free one), or none")
    }
    return CoordinatorApplication.HTTPAddress(
        host: String(value[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
        port: port
    )
}

/// Announces the dashboard's URL on stdout once it listens.
@Sendable func announceDashboard(_ url: String) {
    print("dashboard \(url) (metrics at \(url)metrics)")
    flushOutput()
}

/// Writes JSON for scripts: sorted keys, one document.
func printJSON<Value: Encodable>(_ value: Value) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// Prints to stderr, for errors and hints that must not mix with a command's output.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Flushes stdout now, so progress and `listening` lines reach a pipe as they happen.
func flushOutput() {
    fflush(nil)
}
