import Crypto
public import DroverProtocol
import Foundation
import Synchronization

/// Who is logged in to the dashboard: a token's name and role (an operator changes things, an observer only looks).
public struct DashboardUser: Codable, Sendable, Equatable {
    public var name: String
    public var role: Role
}

/// The dashboard's login tokens, kept hashed (SHA-256) in the state directory's `dashboard-tokens.json`. `drover token
/// create` adds one and prints it once; the dashboard reads the file again when it changes, so a token made or revoked
/// takes effect without a restart. A token is 32 random bytes: a hash is enough to keep, nothing slower is needed.
public final class DashboardTokens: Sendable {
    /// One token, as kept: never the token itself.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var role: Role
        /// Lowercase hex SHA-256 of the token.
        public var sha256: String
        /// Seconds since 1970.
        public var created: Int64
    }

    /// The roles a token may have.
    public static let roles: [Role] = [.operator, .observer]
    public static let fileName = "dashboard-tokens.json"

    public let path: String
    private let cache = Mutex<(modified: Date?, entries: [Entry])>((nil, []))

    /// The tokens of the state directory `stateDirectory`.
    public init(stateDirectory: String) {
        path = (stateDirectory as NSString).appendingPathComponent(Self.fileName)
    }

    /// The tokens as the file has them now (none when there is no file).
    /// - Throws: when the file is there but is not a token list, naming it.
    public func entries() throws -> [Entry] {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        if let cached = cache.withLock({ $0.modified == modified && modified != nil ? $0.entries : nil }) { return cached }
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let entries: [Entry]
        do { entries = try JSONDecoder().decode([Entry].self, from: data) } catch {
            throw DroverError(.invalid, "\(path) is not a list of dashboard tokens: \(error); remove it and make the tokens again")
        }
        cache.withLock { $0 = (modified, entries) }
        return entries
    }

    /// Who `token` belongs to, or nil when it is none of the tokens kept.
    public func user(for token: String) -> DashboardUser? {
        let hash = Self.hash(token)
        guard let entry = (try? entries())?.first(where: { $0.sha256 == hash }) else { return nil }
        return DashboardUser(name: entry.name, role: entry.role)
    }

    /// Makes a token for `name` with `role` and keeps its hash; returns the token, which is shown only this once.
    /// - Throws: a name already used, a role a token cannot have, a file that cannot be written.
    public func create(name: String, role: Role, now: Date = Date()) throws -> String {
        guard Self.roles.contains(role) else {
            throw DroverError(.invalid, "a dashboard token is for an operator or an observer, not a \(role)")
        }
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) }) else {
            throw DroverError(.invalid, "a token's name (\(name)) is 1 to 64 letters, digits, '.', '_', '-' or '@'")
        }
        var entries = try entries()
        guard !entries.contains(where: { $0.name == name }) else {
            throw DroverError(.invalid, "there is already a token named \(name): revoke it first (`drover token revoke \(name)`)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token =
            "drv_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        entries.append(Entry(name: name, role: role, sha256: Self.hash(token), created: Int64(now.timeIntervalSince1970)))
        try write(entries)
        return token
    }

    /// Removes the token named `name`.
    /// - Returns: whether there was one.
    @discardableResult
    public func revoke(name: String) throws -> Bool {
        var entries = try entries()
        let before = entries.count
        entries.removeAll { $0.name == name }
        guard entries.count < before else { return false }
        try write(entries)
        return true
    }

    private func write(_ entries: [Entry]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        try encoder.encode(entries).write(to: URL(fileURLWithPath: path), options: .atomic)
        chmod(path, 0o600)
        cache.withLock { $0 = (nil, []) }
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
