import Foundation

/// A CURVE key pair on disk, in the certificate format of czmq and pyzmq (`zmq.auth.load_certificate` reads it):
/// `NAME.key` holds the public key and is given to peers, `NAME.key_secret` holds both keys and stays private
/// (mode 0600). A file that holds only a key's 40 characters of Z85 text is read too (a mounted Kubernetes secret).
public struct Certificate: Sendable, Equatable {
    /// The file name suffix of a public certificate.
    public static let publicSuffix = ".key"
    /// The file name suffix of a secret certificate.
    public static let secretSuffix = ".key_secret"

    public var publicKey: CurveKey
    /// Present in a secret certificate only.
    public var secretKey: CurveKey?
    /// The `metadata` section: `name` and `role` as `drover keygen` writes them.
    public var metadata: [String: String]

    public init(publicKey: CurveKey, secretKey: CurveKey? = nil, metadata: [String: String] = [:]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.metadata = metadata
    }

    /// The pair, when this is a secret certificate.
    public var keyPair: KeyPair? { secretKey.map { KeyPair(publicKey: publicKey, secretKey: $0) } }

    // MARK: - Reading

    /// Reads a secret certificate: the file must be there, readable by its owner only, and hold a secret key (and,
    /// when it has one, the public key that belongs to it).
    /// - Throws: ``KeyFileError`` naming the file.
    public static func readSecret(at path: String) throws(KeyFileError) -> KeyPair {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyFileError(.missing, "no such file (make a key with `drover keygen NAME`)").about(path)
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw KeyFileError(
                .exposed,
                "a secret key must be readable by its owner only, and this file has mode \(mode); run `chmod 600 \(path)`"
            )
            .about(path)
        }
        let fields = try fields(at: path)
        guard let secret = fields.secretKey else {
            throw KeyFileError(.malformed, "holds no secret-key: this is a public certificate (give the `\(secretSuffix)` file)").about(
                path
            )
        }
        let derived: CurveKey
        do { derived = try secret.derivedPublicKey() } catch {
            throw KeyFileError(.malformed, "its secret-key is not a CURVE key").about(path)
        }
        if let given = fields.publicKey, given != derived {
            throw KeyFileError(.mismatched, "its public-key does not belong to its secret-key").about(path)
        }
        return KeyPair(publicKey: derived, secretKey: secret)
    }

    /// Reads a public certificate (or the bare Z85 text of a public key).
    /// - Throws: ``KeyFileError`` naming the file.
    public static func readPublic(at path: String) throws(KeyFileError) -> Certificate {
        let fields = try fields(at: path)
        do { return try fields.certificate(withSecret: false) } catch { throw error.about(path) }
    }

    /// Parses a certificate's text.
    /// - Throws: ``KeyFileError`` (`malformed`) saying what is wrong, without the file's name.
    public static func parse(_ text: String) throws(KeyFileError) -> Certificate {
        try Fields(text).certificate(withSecret: true)
    }

    private static func fields(at path: String) throws(KeyFileError) -> Fields {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError(.missing, "no such file, or it cannot be read").about(path)
        }
        guard data.count <= 64 * 1024, let text = String(data: data, encoding: .utf8) else {
            throw KeyFileError(.malformed, "not a key file (binary, or over 64 KiB)").about(path)
        }
        do { return try Fields(text) } catch { throw error.about(path) }
    }

    /// What a certificate's text says, before the keys are checked against each other.
    private struct Fields {
        var publicKey: CurveKey?
        var secretKey: CurveKey?
        var metadata: [String: String] = [:]

        init(_ text: String) throws(KeyFileError) {
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            // A bare key: Z85's alphabet has "=" in it, so tell it from a `name = value` line by whether it reads as a key.
            if lines.count == 1, let key = try? CurveKey(z85: lines[0]) {
                publicKey = key
                return
            }
            var section = ""
            for line in lines {
                guard let equals = line.firstIndex(of: "=") else {
                    section = line
                    continue
                }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces.union(["\""]))
                switch (section, key) {
                case ("metadata", _): metadata[key] = value
                case ("curve", "public-key"):
                    do { publicKey = try CurveKey(z85: value) } catch { throw KeyFileError(.malformed, "public-key: \(error.message)") }
                case ("curve", "secret-key"):
                    do { secretKey = try CurveKey(z85: value) } catch { throw KeyFileError(.malformed, "secret-key: \(error.message)") }
                default: break
                }
            }
        }

        func certificate(withSecret: Bool) throws(KeyFileError) -> Certificate {
            var publicKey = self.publicKey
            if publicKey == nil, let secretKey {
                do { publicKey = try secretKey.derivedPublicKey() } catch {
                    throw KeyFileError(.malformed, "secret-key is not a CURVE key")
                }
            }
            guard let publicKey else {
                throw KeyFileError(.malformed, "no `public-key = \"…\"` line under `curve` (is this a CURVE certificate?)")
            }
            return Certificate(publicKey: publicKey, secretKey: withSecret ? secretKey : nil, metadata: metadata)
        }
    }

    // MARK: - Writing

    /// Writes a new pair as `NAME.key_secret` (mode 0600) and `NAME.key` in `directory`; refuses to overwrite.
    /// - Returns: the secret and public files' paths.
    public static func write(
        _ pair: KeyPair,
        name: String,
        metadata: [(String, String)],
        in directory: String,
        now: Date = Date()
    ) throws -> (secret: String, public: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = (directory as NSString).appendingPathComponent(name)
        let secretPath = base + secretSuffix
        let publicPath = base + publicSuffix
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw KeyFileError(.exposed, "already exists; remove it first or choose another name").about(path)
        }
        let date = ISO8601DateFormatter().string(from: now)
        let meta = metadata.map { "    \($0.0) = \"\($0.1)\"\n" }.joined()
        let secretText = """
            #   ****  Generated on \(date) by drover keygen  ****
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            metadata
            \(meta)curve
                public-key = "\(pair.publicKey.z85)"
                secret-key = "\(pair.secretKey.z85)"

            """
        let publicText = """
            #   ****  Generated on \(date) by drover keygen  ****
            #   ZeroMQ CURVE Public Certificate
            #   Exchange securely, or use a secure mechanism to verify the contents
            #   of this file after exchange. Store public certificates in your home
            #   directory, in the .curve subdirectory.

            metadata
            \(meta)curve
                public-key = "\(pair.publicKey.z85)"

            """
        try create(secretPath, secretText, mode: 0o600)
        try create(publicPath, publicText, mode: 0o644)
        return (secretPath, publicPath)
    }

    /// Creates a new file with its mode set from the start, so a secret is never readable by others, even briefly.
    private static func create(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw KeyFileError(.missing, "cannot create: \(ZMQError("open", code: errno).reason)").about(path) }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have taken bits off a public file
        do {
            try FileHandle(fileDescriptor: fd, closeOnDealloc: false).write(contentsOf: Data(text.utf8))
        } catch {
            throw KeyFileError(.missing, "cannot write: \(error.localizedDescription)").about(path)
        }
    }
}
