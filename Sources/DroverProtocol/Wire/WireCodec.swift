import Foundation

/// Turns messages into frames and frames back into validated messages (protocol v1, `docs/protocol.md`).
///
/// Not `Sendable`-shared: each thread or task keeps its own codec (Foundation's coders are not thread-safe to share).
public struct WireCodec {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        decoder = JSONDecoder()
    }

    // MARK: - Encoding

    /// The `[header][body]` frames of one message.
    public func frames<Body: Encodable>(_ header: Header, _ body: Body) -> [Data] {
        // Encoding our own Codable values cannot fail; a failure here is a programming error.
        [Self.encode(header), PlainJSON.written(body, nested: encoder) ?? (try! encoder.encode(body))]
    }

    /// The header, written by hand: it goes out with every message and has a fixed shape.
    static func encode(_ header: Header) -> Data {
        var text = #"{"v":"# + String(header.v) + #","type":""# + header.type.rawValue + #"","id":"#
        appendJSONString(header.id, to: &text)
        text += #","seq":"# + String(header.seq) + #","ts":"# + String(header.ts) + "}"
        return Data(text.utf8)
    }

    /// Appends `value` as a JSON string literal.
    public static func appendJSONString(_ value: String, to text: inout String) {
        text += "\""
        // Most strings need no escape at all: appended whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// JSON for any value, with the wire's key style.
    public func json<Value: Encodable>(_ value: Value) -> Data {
        try! encoder.encode(value)
    }

    // MARK: - Decoding

    /// Reads and checks the header frame.
    public func header(from frame: Data) throws(ProtocolError) -> Header {
        // Nearly every header is plain and valid, and is read by hand; anything else, and every error, goes through
        // the full decoder (the size limit first, as there).
        if frame.count <= WireLimits.headerBytes, let header = PlainJSON.header(frame) { return header }
        return try decodedHeader(from: frame)
    }

    /// ``header(from:)`` through `JSONDecoder` alone.
    func decodedHeader(from frame: Data) throws(ProtocolError) -> Header {
        guard frame.count <= WireLimits.headerBytes else {
            throw ProtocolError(.tooLarge, "the header frame is \(frame.count) bytes; the limit is \(WireLimits.headerBytes)")
        }
        let loose: LooseHeader
        do {
            loose = try decoder.decode(LooseHeader.self, from: frame)
        } catch {
            throw Self.describe(error, frame: "header", data: frame)
        }
        guard loose.v == Header.currentVersion else {
            throw ProtocolError(
                .unsupportedVersion,
                "protocol version \(loose.v) is not supported; this coordinator speaks v\(Header.currentVersion)",
                ref: loose.id
            )
        }
        guard let type = MessageType(rawValue: loose.type) else {
            throw ProtocolError(.unknownType, "unknown message type \"\(loose.type.prefix(64))\"", ref: loose.id)
        }
        guard !loose.id.isEmpty, loose.id.utf8.count <= 200 else {
            throw ProtocolError(.badField, "field 'id' must be 1 to 200 bytes")
        }
        return Header(type: type, id: loose.id, seq: loose.seq, ts: loose.ts)
    }

    /// Reads and validates a body frame.
    public func body<Body: WireBody>(_: Body.Type, from frame: Data, ref: String? = nil) throws(ProtocolError) -> Body {
        try body(Body.self, from: frame, ref: ref, plain: true)
    }

    /// ``body(_:from:ref:)`` through `JSONDecoder` alone.
    func decodedBody<Body: WireBody>(_: Body.Type, from frame: Data, ref: String? = nil) throws(ProtocolError) -> Body {
        try body(Body.self, from: frame, ref: ref, plain: false)
    }

    /// With `plain`, the bodies on the hot path (heartbeats, accepts) are read by hand when they are plain; the
    /// decoded value, the validation and its errors are the same either way.
    private func body<Body: WireBody>(_: Body.Type, from frame: Data, ref: String?, plain: Bool) throws(ProtocolError) -> Body {
        guard frame.count <= Body.maxBytes else {
            throw ProtocolError(.tooLarge, "the body frame is \(frame.count) bytes; the limit is \(Body.maxBytes)", ref: ref)
        }
        do {
            let body = try (plain ? PlainJSON.body(Body.self, frame) : nil) ?? decoder.decode(Body.self, from: frame)
            try body.validate()
            return body
        } catch var error as ProtocolError {
            error.ref = ref
            throw error
        } catch {
            var described = Self.describe(error, frame: "body", data: frame)
            described.ref = ref
            throw described
        }
    }

    /// Any JSON value, with the wire's key style.
    public func decode<Value: Decodable>(_: Value.Type, from data: Data) throws -> Value {
        try decoder.decode(Value.self, from: data)
    }

    /// The header as sent, before its version and type are known to be ours.
    private struct LooseHeader: Decodable {
        var v: Int
        var type: String
        var id: String
        var seq: UInt64
        var ts: Int64
    }

    /// A `DecodingError` in words that name the field.
    ///
    /// With `data`, a frame that is not JSON at all is `bad_json` whatever the decoder tripped on: `JSONDecoder` reads
    /// a string only when it decodes it, so a bad string inside a ``JSONValue`` (tried as one type after another, an
    /// object's keys in hash order) could otherwise surface as any field's error, differing from run to run.
    static func describe(_ error: any Error, frame: String, data: Data? = nil) -> ProtocolError {
        if let data, error is DecodingError, (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) == nil {
            return ProtocolError(.badJSON, "the \(frame) frame is not a valid JSON object")
        }
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            let text = keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return ProtocolError(.badField, "the \(frame) is missing field '\(path(context.codingPath, key))'")
        case DecodingError.typeMismatch(let type, let context) where !context.codingPath.isEmpty,
            DecodingError.valueNotFound(let type, let context) where !context.codingPath.isEmpty:
            return ProtocolError(.badField, "field '\(path(context.codingPath))' in the \(frame) is not a valid \(type)")
        case DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty:
            return ProtocolError(.badField, "field '\(path(context.codingPath))' in the \(frame): \(context.debugDescription)")
        default:
            return ProtocolError(.badJSON, "the \(frame) frame is not a valid JSON object")
        }
    }
}
