import ArgumentParser
import DroverProtocol
import DroverTransport
import Foundation

/// `drover keygen NAME --role ROLE`: a CURVE key pair, and where each file goes.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a CURVE key pair: NAME.key_secret (mode 0600, stays where it is used) and NAME.key (public).",
        discussion: "The files are in the certificate format of czmq and pyzmq (zmq.auth.load_certificate reads them)."
    )

    @Argument(help: "The key's name: letters, digits, '.', '_' and '-' (e.g. a host name).") var name: String
    @Option(help: "Who will use it: worker, operator, observer or coordinator.") var role = "operator"
    @Option(help: "Where to write the two files.") var dir = "."
    @Flag(help: "Print the files and the public key as JSON.") var json = false

    func validate() throws {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }), !name.hasPrefix(".")
        else {
            throw ValidationError("NAME (\(name)) must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'")
        }
        guard Role(rawValue: role) != nil else {
            throw ValidationError("--role \(role) is not a role: worker, operator, observer or coordinator")
        }
    }

    func run() throws {
        let role = Role(rawValue: role)!
        let pair = try CurveKey.pair()
        let paths = try Certificate.write(pair, name: name, metadata: [("name", name), ("role", role.rawValue)], in: dir)
        if json {
            printJSON(
                Output(name: name, role: role.rawValue, secretFile: paths.secret, publicFile: paths.public, publicKey: pair.publicKey.z85)
            )
            return
        }
        print("wrote \(paths.secret) (secret, mode 0600) and \(paths.public) (public key \(pair.publicKey.z85))")
        print(Self.whereEachGoes(role: role, name: name, paths: paths))
    }

    /// What to do with the two files, for a key of `role`.
    static func whereEachGoes(role: Role, name: String, paths: (secret: String, public: String)) -> String {
        let publicFile = (paths.public as NSString).lastPathComponent
        switch role {
        case .coordinator:
            return """
                On the coordinator's host: drover coordinator --secret-key \(paths.secret) --authorized-keys DIR
                Give \(publicFile) to every worker and client: --coordinator-key \(publicFile) (or $DROVER_COORDINATOR_KEY).
                """
        case .worker, .operator, .observer:
            let command = role == .worker ? "drover worker" : "drover status (and every client command)"
            return """
                On the \(role)'s host: \(command) --secret-key \(paths.secret) --coordinator-key coordinator.key
                  (or $DROVER_SECRET_KEY and $DROVER_COORDINATOR_KEY).
                On the coordinator's host: copy \(publicFile) into its authorized keys, DIR/\(role.directoryName)/\(publicFile);
                  it is read within a second, no restart needed. Remove it there to shut \(name) out.
                """
        }
    }

    struct Output: Encodable {
        var name: String
        var role: String
        var secretFile: String
        var publicFile: String
        var publicKey: String

        enum CodingKeys: String, CodingKey {
            case name, role, secretFile = "secret_file", publicFile = "public_file", publicKey = "public_key"
        }
    }
}
