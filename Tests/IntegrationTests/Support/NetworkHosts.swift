import Foundation
import Worker

/// Test hosts on one machine: Linux network namespaces joined to a coordinator namespace by veth pairs.
///
/// Host `name` gets the address 10.213.N.2 and sees the coordinator at 10.213.N.1. Nothing is routed anywhere
/// else: traffic stays between these namespaces. Everything is removed at the end, even when the test fails.
final class NetworkHosts {
    let prefix: String
    private(set) var created: [String] = []

    /// Whether this machine can make namespaces (root and iproute2).
    static var available: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: ipPath)
    }

    static let ipPath =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    private init() {
        prefix = "drv\(UInt32.random(in: 0..<0xFFFF))"
    }

    static func with<T>(_ body: (NetworkHosts) async throws -> T) async throws -> T {
        let hosts = NetworkHosts()
        do {
            let result = try await body(hosts)
            await hosts.remove()
            return result
        } catch {
            await hosts.remove()
            throw error
        }
    }

    /// The namespace name for a host.
    func namespace(_ host: String) -> String { "\(prefix)-\(host)" }

    /// Makes the coordinator's namespace and one namespace per worker host, each linked to the coordinator's.
    /// - Returns: for each host, the coordinator address it should connect to.
    func build(hosts: [String]) async throws -> [String: String] {
        let center = namespace("coord")
        try await ip("netns", "add", center)
        created.append(center)
        try await ip("-n", center, "link", "set", "lo", "up")
        var addresses: [String: String] = [:]
        for (index, host) in hosts.enumerated() {
            let name = namespace(host)
            try await ip("netns", "add", name)
            created.append(name)
            try await ip("-n", name, "link", "set", "lo", "up")
            let near = "\(prefix)c\(index)"
            let far = "\(prefix)h\(index)"
            try await ip("link", "add", near, "netns", center, "type", "veth", "peer", "name", far, "netns", name)
            try await ip("-n", center, "addr", "add", "10.213.\(index + 1).1/24", "dev", near)
            try await ip("-n", name, "addr", "add", "10.213.\(index + 1).2/24", "dev", far)
            try await ip("-n", center, "link", "set", near, "up")
            try await ip("-n", name, "link", "set", far, "up")
            addresses[host] = "10.213.\(index + 1).1"
        }
        return addresses
    }

    /// Cuts (or restores) a host's only link: a network partition.
    func setLink(of host: String, up: Bool) async throws {
        let index = created.firstIndex(of: namespace(host))! - 1
        try await ip("-n", namespace(host), "link", "set", "\(prefix)h\(index)", up ? "up" : "down")
    }

    /// Arguments that run `command` inside a host's namespace.
    func inside(_ host: String, _ command: [String]) -> [String] {
        [Self.ipPath, "netns", "exec", namespace(host)] + command
    }

    private func ip(_ arguments: String...) async throws {
        let (status, output) = try await GuardedProcess.output(of: [Self.ipPath] + arguments, in: nil, environment: [:])
        if status != 0 { throw TestFailure("ip \(arguments.joined(separator: " ")) failed (\(status)): \(output)") }
    }

    private func remove() async {
        for name in created.reversed() { try? await ip("netns", "del", name) }
        created.removeAll()
    }
}
