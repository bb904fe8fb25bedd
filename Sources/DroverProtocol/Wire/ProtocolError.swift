/// Why an inbound message was refused. Crosses the wire as an `error` message with ``code-swift.property``'s
/// ``Code-swift.struct/rawValue``, so the codes are stable strings.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable reason. New codes may be added; clients treat unknown ones as generic errors.
    public struct Code: WireWord {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The message does not have the frames the socket expects.
        public static let badFrames = Code(rawValue: "bad_frames")
        /// A frame is not valid JSON, or not a JSON object.
        public static let badJSON = Code(rawValue: "bad_json")
        /// The header's `v` is not a version this coordinator speaks.
        public static let unsupportedVersion = Code(rawValue: "unsupported_version")
        /// The header's `type` is unknown, or not allowed on this socket or in this direction.
        public static let unknownType = Code(rawValue: "unknown_type")
        /// A field is missing, of the wrong type, or out of range.
        public static let badField = Code(rawValue: "bad_field")
        /// A frame is larger than the protocol allows.
        public static let tooLarge = Code(rawValue: "too_large")
        /// The sender has not registered (or the coordinator restarted): send `register` again.
        public static let unknownWorker = Code(rawValue: "unknown_worker")
        /// The lease is not the sender's any more (a newer epoch exists): abort its work.
        public static let staleLease = Code(rawValue: "stale_lease")
        /// The plan or request was understood but cannot be carried out.
        public static let rejected = Code(rawValue: "rejected")
        /// The sender's key may not do this: its role does not allow the request (an observer's key asking to
        /// change something), or the key is no longer authorized.
        public static let forbidden = Code(rawValue: "forbidden")
    }

    public var code: Code
    public var message: String
    /// The refused message's id, when its header could be read.
    public var ref: String?
    public var leaseId: String?

    public init(_ code: Code, _ message: String, ref: String? = nil, leaseId: String? = nil) {
        self.code = code
        self.message = message
        self.ref = ref
        self.leaseId = leaseId
    }

    public var description: String { "\(code): \(message)" }

    /// The body of the `error` message that reports this error.
    public var body: ErrorBody { ErrorBody(code: code, message: message, ref: ref, leaseId: leaseId) }
}
