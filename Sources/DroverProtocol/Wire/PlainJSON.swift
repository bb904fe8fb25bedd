import Foundation

/// Hand-written readers (and writers) for the few JSON shapes that go with nearly every message: the header, and the
/// bodies of heartbeats, accepts, rejects, assigns and reports (and acks, written).
///
/// They read only the plain form these messages take on the wire — the fields the type has, each once, values
/// without escapes, integers without fraction or exponent, printable ASCII strings — and give up (nil) on anything
/// else, leaving it to `JSONDecoder`. So they never refuse anything: a frame they do not read gets exactly the
/// validation and the error it always got, and a frame they do read decodes to the value `JSONDecoder` would give.
/// Validation after decoding (`WireBody.validate()`, the header's version, type and id checks) is shared.
enum PlainJSON {
    /// The header, if it is plain and valid; nil leaves the frame to the full decoder and its error messages.
    static func header(_ frame: Data) -> Header? {
        frame.withUnsafeBytes { raw -> Header? in
            var scanner = PlainJSONScanner(raw)
            guard scanner.take(.openBrace) else { return nil }
            var version: Int64?
            var type: MessageType?
            var id: String?
            var seq: UInt64?
            var ts: Int64?
            repeat {
                guard let key = scanner.key() else { return nil }
                if scanner.matches(key, "v") {
                    guard version == nil, let value = scanner.signed() else { return nil }
                    version = value
                } else if scanner.matches(key, "type") {
                    guard type == nil, let value = scanner.string(), let known = MessageType(rawValue: value) else { return nil }
                    type = known
                } else if scanner.matches(key, "id") {
                    guard id == nil, let value = scanner.string() else { return nil }
                    id = value
                } else if scanner.matches(key, "seq") {
                    guard seq == nil, let value = scanner.unsigned() else { return nil }
                    seq = value
                } else if scanner.matches(key, "ts") {
                    guard ts == nil, let value = scanner.signed() else { return nil }
                    ts = value
                } else {
                    return nil
                }
            } while scanner.take(.comma)
            guard scanner.take(.closeBrace), scanner.atEnd, let version, let type, let id, let seq, let ts,
                version == Int64(Header.currentVersion), !id.isEmpty, id.utf8.count <= 200
            else { return nil }
            return Header(type: type, id: id, seq: seq, ts: ts)
        }
    }

    /// The body, when `Body` is one of the types read here and the frame is plain; not yet validated.
    static func body<Body: WireBody>(_: Body.Type, _ frame: Data) -> Body? {
        if Body.self == HeartbeatBody.self { return heartbeat(frame) as? Body }
        if Body.self == LeaseAnswerBody.self { return leaseAnswer(frame) as? Body }
        if Body.self == ReportBody.self { return report(frame) as? Body }
        if Body.self == AssignBody.self { return assign(frame) as? Body }
        return nil
    }

    /// `{"leases":[…],"draining":…,"instance":…}`, every field optional and nullable.
    static func heartbeat(_ frame: Data) -> HeartbeatBody? {
        frame.withUnsafeBytes { raw -> HeartbeatBody? in
            var scanner = PlainJSONScanner(raw)
            guard scanner.take(.openBrace) else { return nil }
            var body = HeartbeatBody()
            if !scanner.take(.closeBrace) {
                var seen = (leases: false, draining: false, instance: false)
                repeat {
                    guard let key = scanner.key() else { return nil }
                    if scanner.matches(key, "leases") {
                        guard !seen.leases else { return nil }
                        seen.leases = true
                        if scanner.takeNull() { continue }
                        guard let leases = scanner.stringArray() else { return nil }
                        body.leases = leases
                    } else if scanner.matches(key, "draining") {
                        guard !seen.draining else { return nil }
                        seen.draining = true
                        if scanner.takeNull() { continue }
                        guard let draining = scanner.bool() else { return nil }
                        body.draining = draining
                    } else if scanner.matches(key, "instance") {
                        guard !seen.instance else { return nil }
                        seen.instance = true
                        if scanner.takeNull() { continue }
                        guard let instance = scanner.string() else { return nil }
                        body.instance = instance
                    } else {
                        return nil
                    }
                } while scanner.take(.comma)
                guard scanner.take(.closeBrace) else { return nil }
            }
            return scanner.atEnd ? body : nil
        }
    }

    /// `{"lease_id":…,"epoch":…,"reason":…}` (accept and reject); `reason` optional and nullable.
    static func leaseAnswer(_ frame: Data) -> LeaseAnswerBody? {
        frame.withUnsafeBytes { raw -> LeaseAnswerBody? in
            var scanner = PlainJSONScanner(raw)
            guard scanner.take(.openBrace) else { return nil }
            var leaseID: String?
            var epoch: Int64?
            var reason: String?
            var seenReason = false
            repeat {
                guard let key = scanner.key() else { return nil }
                if scanner.matches(key, "lease_id") {
                    guard leaseID == nil, let value = scanner.string() else { return nil }
                    leaseID = value
                } else if scanner.matches(key, "epoch") {
                    guard epoch == nil, let value = scanner.signed() else { return nil }
                    epoch = value
                } else if scanner.matches(key, "reason") {
                    guard !seenReason else { return nil }
                    seenReason = true
                    if scanner.takeNull() { continue }
                    guard let value = scanner.string() else { return nil }
                    reason = value
                } else {
                    return nil
                }
            } while scanner.take(.comma)
            guard scanner.take(.closeBrace), scanner.atEnd, let leaseID, let epoch else { return nil }
            return LeaseAnswerBody(leaseId: leaseID, epoch: epoch, reason: reason)
        }
    }
}

// MARK: - Writing

extension PlainJSON {
    /// The body written by hand, when it is of a type sent with nearly every exchange: the same JSON document that
    /// `JSONEncoder` writes for it (the same keys and values, nil fields left out; keys in declaration order), without
    /// its generic machinery.
    /// `nested` writes what is rare inside those bodies (a task's checks, budget and permissions).
    static func written<Body: Encodable>(_ body: Body, nested: JSONEncoder) -> Data? {
        if Body.self == HeartbeatBody.self { return encode(unsafeBitCast(body, to: HeartbeatBody.self)) }
        if Body.self == AckBody.self { return encode(unsafeBitCast(body, to: AckBody.self)) }
        if Body.self == LeaseAnswerBody.self { return encode(unsafeBitCast(body, to: LeaseAnswerBody.self)) }
        if Body.self == AssignBody.self { return encode(unsafeBitCast(body, to: AssignBody.self), nested: nested) }
        if Body.self == ReportBody.self { return encode(unsafeBitCast(body, to: ReportBody.self)) }
        return nil
    }

    static func encode(_ body: HeartbeatBody) -> Data {
        var writer = ObjectWriter()
        if let leases = body.leases { writer.field("leases", leases) }
        if let draining = body.draining { writer.field("draining", draining) }
        if let instance = body.instance { writer.field("instance", instance) }
        return writer.data
    }

    static func encode(_ body: AckBody) -> Data {
        var writer = ObjectWriter()
        writer.field("ref", body.ref)
        if let leaseID = body.leaseId { writer.field("lease_id", leaseID) }
        return writer.data
    }

    static func encode(_ body: LeaseAnswerBody) -> Data {
        var writer = ObjectWriter()
        writer.field("lease_id", body.leaseId)
        writer.field("epoch", body.epoch)
        if let reason = body.reason { writer.field("reason", reason) }
        return writer.data
    }

    /// A JSON object being written, its fields separated by commas.
    struct ObjectWriter {
        var text = "{"
        private var first = true

        mutating func key(_ name: StaticString) {
            if !first { text += "," }
            first = false
            text += "\""
            text += name.description
            text += "\":"
        }

        mutating func field(_ name: StaticString, _ value: String) {
            key(name)
            WireCodec.appendJSONString(value, to: &text)
        }

        /// A list of strings.
        mutating func field(_ name: StaticString, _ values: [String]) {
            key(name)
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                WireCodec.appendJSONString(value, to: &text)
            }
            text += "]"
        }

        mutating func field(_ name: StaticString, _ value: Int64) {
            key(name)
            text += String(value)
        }

        mutating func field(_ name: StaticString, _ value: Bool) {
            key(name)
            text += value ? "true" : "false"
        }

        /// A number of seconds: whole ones as integers, others as `nested` writes them.
        mutating func field(_ name: StaticString, _ value: Double, nested: JSONEncoder) {
            key(name)
            if value.rounded() == value, value.magnitude <= 9_007_199_254_740_992 {
                text += String(Int64(value))
            } else {
                // An array of one, as not every JSONEncoder writes a bare number; the brackets are dropped.
                text += String(nested.text([value]).dropFirst().dropLast())
            }
        }

        /// The object's text, closed.
        var closed: String {
            mutating get {
                text += "}"
                return text
            }
        }

        var data: Data {
            mutating get { Data(closed.utf8) }
        }
    }
}

extension JSONEncoder {
    /// `value` as JSON text. Our own Codable values always encode; a failure is a programming error.
    func text<Value: Encodable>(_ value: Value) -> String {
        String(decoding: try! encode(value), as: UTF8.self)
    }
}

/// The keys of one object seen so far, by their index in the caller's list: a key seen twice is not plain.
struct ObjectKeys {
    private var seen: UInt64 = 0

    /// Marks key `index` seen; false if it was already.
    mutating func first(_ index: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(index)
        defer { seen |= bit }
        return seen & bit == 0
    }

    func has(_ index: Int) -> Bool { seen & (1 << UInt64(index)) != 0 }
}

/// Reads the plain subset of JSON described at ``PlainJSON`` from raw bytes; every method returns nil (or false)
/// on anything outside it, without promising where it stopped.
struct PlainJSONScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    enum Token: UInt8 {
        case openBrace = 0x7B, closeBrace = 0x7D, openBracket = 0x5B, closeBracket = 0x5D, comma = 0x2C, colon = 0x3A
    }

    private static let quote: UInt8 = 0x22

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Whether only whitespace is left.
    var atEnd: Bool {
        mutating get {
            skipSpace()
            return index == bytes.count
        }
    }

    /// Takes `token` after optional whitespace, if it is next.
    mutating func take(_ token: Token) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == token.rawValue else { return false }
        index += 1
        return true
    }

    /// A string of printable ASCII without escapes, as the range of its bytes (quotes excluded).
    private mutating func plainString() -> Range<Int>? {
        skipSpace()
        guard index < bytes.count, bytes[index] == Self.quote else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == Self.quote {
                index = end + 1
                return start..<end
            }
            // Control characters are not JSON; escapes and other scripts are left to the full decoder.
            guard byte >= 0x20, byte < 0x7F, byte != 0x5C else { return nil }
            end += 1
        }
        return nil
    }

    /// An object key and its colon.
    mutating func key() -> Range<Int>? {
        guard let key = plainString(), take(.colon) else { return nil }
        return key
    }

    /// Whether the bytes in `range` are exactly `name` (ASCII).
    func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != expected[offset] { return false }
        return true
    }

    mutating func string() -> String? {
        guard let range = plainString() else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// An object, `field` called with each key to read its value (false gives up); each key at most once, and at
    /// most 64 keys (``ObjectKeys``).
    mutating func object(_ field: (inout PlainJSONScanner, Range<Int>, inout ObjectKeys) -> Bool) -> Bool {
        guard take(.openBrace) else { return false }
        if take(.closeBrace) { return true }
        var keys = ObjectKeys()
        repeat {
            guard let key = key(), field(&self, key, &keys) else { return false }
        } while take(.comma)
        return take(.closeBrace)
    }

    /// `[]` or `[…, …]`, `element` called for each element (false gives up).
    mutating func array(_ element: (inout PlainJSONScanner) -> Bool) -> Bool {
        guard take(.openBracket) else { return false }
        if take(.closeBracket) { return true }
        repeat {
            guard element(&self) else { return false }
        } while take(.comma)
        return take(.closeBracket)
    }

    /// `[]` or `["…", …]` of plain strings.
    mutating func stringArray() -> [String]? {
        guard take(.openBracket) else { return nil }
        var strings: [String] = []
        if take(.closeBracket) { return strings }
        repeat {
            guard let string = string() else { return nil }
            strings.append(string)
        } while take(.comma)
        return take(.closeBracket) ? strings : nil
    }

    /// The literal `null`, if it is next.
    mutating func takeNull() -> Bool { literal("null") }

    mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipSpace()
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let expected = word.utf8Start
        for offset in 0..<count where bytes[index + offset] != expected[offset] { return false }
        index += count
        return true
    }

    /// Decimal digits with no leading zero (JSON's integer form), up to UInt64.max. What may follow (a fraction, an
    /// exponent) is left for the caller's next token to refuse.
    private mutating func digits() -> UInt64? {
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { return nil }
        if bytes[index] == 0x30 {
            index += 1
            return 0
        }
        var value: UInt64 = 0
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value
    }

    /// A non-negative integer.
    mutating func unsigned() -> UInt64? {
        skipSpace()
        return digits()
    }

    /// An integer within Int64 (less its minimum, which is left to the full decoder).
    mutating func signed() -> Int64? {
        skipSpace()
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D {
            negative = true
            index += 1
        }
        guard let magnitude = digits(), magnitude <= UInt64(Int64.max) else { return nil }
        return negative ? -Int64(magnitude) : Int64(magnitude)
    }
}
