public import DroverTransport
import Foundation

/// Which of a coordinator's endpoints other machines can reach: a tcp address that is not loopback. Binding one
/// without keys gives anyone on the network the fleet (submit plans whose commands every worker runs, read every
/// prompt), so it is refused unless the operator says `--insecure`.
public enum BindExposure {
    /// The endpoints reachable from other machines.
    public static func exposed(_ endpoints: Endpoints) -> [String] {
        [endpoints.work, endpoints.events, endpoints.control].filter(isExposed)
    }

    /// Whether other machines can reach `endpoint`: `tcp://` on anything but a loopback address.
    public static func isExposed(_ endpoint: String) -> Bool {
        guard endpoint.hasPrefix("tcp://") else { return false }  // ipc:// and inproc:// stay on the machine
        var host = String(endpoint.dropFirst("tcp://".count))
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        host = host.trimmingCharacters(in: ["[", "]"])
        // A "source;destination" connect form does not apply to binds; take the address as given.
        return !(host == "localhost" || host == "::1" || host.hasPrefix("127.") || host == "lo")
    }

    /// The refusal for binding `exposed` without keys, saying how to make keys or how to go on anyway.
    public static func refusal(_ exposed: [String]) -> String {
        "refusing to listen on \(exposed.joined(separator: ", ")) without keys: anyone who can reach "
            + (exposed.count == 1 ? "it" : "them")
            + " could run commands on every worker. Make keys (`drover keygen coordinator --role coordinator`, "
            + "`drover keygen NAME --role worker|operator|observer`) and start with --secret-key and --authorized-keys "
            + "(docs/security.md), bind to 127.0.0.1 or ipc://, or pass --insecure on a network you trust"
    }
}
