import CZeroMQ
import Foundation

/// A CURVE key (public or secret) as libzmq takes it: 40 characters of Z85 text for 32 bytes.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The Z85 text.
    public let z85: String

    /// Reads a Z85 key. Surrounding spaces and quotes are ignored.
    /// - Throws: ``KeyFileError`` (`malformed`) saying what is wrong with the text.
    public init(z85 text: String) throws(KeyFileError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces.union(["\""]))
        guard trimmed.utf8.count == 40 else {
            throw KeyFileError(.malformed, "a CURVE key is 40 characters of Z85 text; this one has \(trimmed.utf8.count)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, trimmed) != nil else {
            throw KeyFileError(.malformed, "\"\(trimmed.prefix(6))…\" is not Z85 text (a CURVE key's alphabet)")
        }
        self.z85 = trimmed
    }

    private init(checked z85: String) { self.z85 = z85 }

    /// A new key pair from libzmq's generator.
    public static func pair() throws -> KeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError("zmq_curve_keypair") }
        return KeyPair(
            publicKey: CurveKey(checked: z85Text(publicKey)),
            secretKey: CurveKey(checked: z85Text(secretKey))
        )
    }

    /// The public key that belongs to this secret key.
    public func derivedPublicKey() throws -> CurveKey {
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, z85) == 0 else { throw ZMQError("zmq_curve_public") }
        return CurveKey(checked: z85Text(publicKey))
    }

    /// A short name for logs and metrics: the first 12 characters. Only ever shown for public keys.
    public var fingerprint: String { String(z85.prefix(12)) }

    /// The fingerprint, so that a key printed by mistake (a secret one in a debug log) never shows whole.
    public var description: String { fingerprint }
    public var debugDescription: String { "CurveKey(\(fingerprint)…)" }
    public var customMirror: Mirror { Mirror(self, children: ["fingerprint": fingerprint]) }
}

/// A public key with its secret key: what a CURVE server or client needs of its own.
public struct KeyPair: Sendable, Hashable {
    public var publicKey: CurveKey
    public var secretKey: CurveKey

    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// The text of a NUL-terminated buffer libzmq filled with Z85.
func z85Text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
