import DroverTesting
import DroverTransport
import Foundation
import Testing

@Suite("CURVE keys and certificate files")
struct CertificateTests {
    @Test func aWrittenPairReadsBackAndTheSecretFileIsTheOwnersOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pair = try CurveKey.pair()
        let paths = try Certificate.write(pair, name: "w1", metadata: [("role", "worker")], in: directory.path)
        #expect(paths.secret.hasSuffix("/w1.key_secret") && paths.public.hasSuffix("/w1.key"))
        #expect(try Certificate.readSecret(at: paths.secret) == pair)
        let published = try Certificate.readPublic(at: paths.public)
        #expect(published.publicKey == pair.publicKey && published.secretKey == nil && published.metadata["role"] == "worker")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: paths.secret)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        // The public file holds nothing secret.
        #expect(!(try String(contentsOfFile: paths.public, encoding: .utf8)).contains(pair.secretKey.z85))
    }

    @Test func writingNeverOverwritesAKey() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Certificate.write(try CurveKey.pair(), name: "k", metadata: [], in: directory.path)
        #expect(throws: KeyFileError.self) { try Certificate.write(try CurveKey.pair(), name: "k", metadata: [], in: directory.path) }
    }

    @Test func aSecretKeyOthersCanReadIsRefusedNamingTheFileAndTheFix() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let paths = try Certificate.write(try CurveKey.pair(), name: "op", metadata: [], in: directory.path)
        chmod(paths.secret, 0o644)
        let error = try #require(throws: KeyFileError.self) { try Certificate.readSecret(at: paths.secret) }
        #expect(error.code == .exposed)
        #expect(error.message.contains(paths.secret) && error.message.contains("644") && error.message.contains("chmod 600"))
    }

    @Test func missingMalformedAndMismatchedFilesAreNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = try #require(throws: KeyFileError.self) { try Certificate.readSecret(at: "\(directory.path)/nope.key_secret") }
        #expect(missing.code == .missing && missing.message.contains("nope.key_secret") && missing.message.contains("drover keygen"))

        let garbled = "\(directory.path)/garbled.key"
        try "curve\n    public-key = \"not a key\"\n".write(toFile: garbled, atomically: true, encoding: .utf8)
        let malformed = try #require(throws: KeyFileError.self) { try Certificate.readPublic(at: garbled) }
        #expect(malformed.code == .malformed && malformed.message.contains(garbled) && malformed.message.contains("40 characters"))

        // A public certificate given where the secret one is needed.
        let paths = try Certificate.write(try CurveKey.pair(), name: "a", metadata: [], in: directory.path)
        chmod(paths.public, 0o600)
        let notSecret = try #require(throws: KeyFileError.self) { try Certificate.readSecret(at: paths.public) }
        #expect(notSecret.code == .malformed && notSecret.message.contains("key_secret"))

        // A secret key filed with someone else's public key.
        let other = try CurveKey.pair()
        let mixed = "\(directory.path)/mixed.key_secret"
        let text = "curve\n    public-key = \"\(other.publicKey.z85)\"\n    secret-key = \"\(try CurveKey.pair().secretKey.z85)\"\n"
        #expect(FileManager.default.createFile(atPath: mixed, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        let mismatched = try #require(throws: KeyFileError.self) { try Certificate.readSecret(at: mixed) }
        #expect(mismatched.code == .mismatched)
    }

    @Test func aBareZ85KeyIsAPublicKey() throws {
        let pair = try CurveKey.pair()
        #expect(try Certificate.parse(" \(pair.publicKey.z85)\n").publicKey == pair.publicKey)
        // Z85 has "=" in its alphabet: a key with one is still a bare key, not a `name = value` line.
        var withEquals = pair.publicKey
        while !withEquals.z85.contains("=") { withEquals = try CurveKey.pair().publicKey }  // about one key in three has one
        #expect(try Certificate.parse(withEquals.z85 + "\n").publicKey == withEquals)
        #expect(try pair.secretKey.derivedPublicKey() == pair.publicKey)
        #expect(pair.publicKey.description.count == 12)  // printed as its fingerprint only
    }

    /// pyzmq's `zmq.auth` reads the files `drover keygen` writes, and Drover reads pyzmq's: an observer script in
    /// Python can use the same keys.
    @Test(.enabled(if: pythonHasZMQ())) func pyzmqAndDroverReadEachOthersCertificates() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pair = try CurveKey.pair()
        let paths = try Certificate.write(pair, name: "ours", metadata: [("role", "observer")], in: directory.path)
        let script = """
            import sys, zmq.auth
            public, secret = zmq.auth.load_certificate(sys.argv[1])
            print(public.decode(), secret.decode())
            zmq.auth.create_certificates(sys.argv[2], "theirs")
            """
        let output = try runPython(script, [paths.secret, directory.path])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(pair.publicKey.z85) \(pair.secretKey.z85)")
        chmod("\(directory.path)/theirs.key_secret", 0o600)
        let theirs = try Certificate.readSecret(at: "\(directory.path)/theirs.key_secret")
        #expect(try Certificate.readPublic(at: "\(directory.path)/theirs.key").publicKey == theirs.publicKey)
    }
}

private func pythonHasZMQ() -> Bool { (try? runPython("import zmq.auth", [])) != nil }

private func runPython(_ script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
    return String(decoding: data, as: UTF8.self)
}
