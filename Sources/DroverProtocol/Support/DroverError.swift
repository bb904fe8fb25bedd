/// What went wrong outside the wire protocol, for the code that called: a control request that got no usable reply,
/// a git command, a codex process. One type for all of them, evolvable as ``ProtocolError`` is: ``Code-swift.struct``
/// names the kind (new kinds may be added), and the message says what happened and, where it can, what to do.
public struct DroverError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The coordinator did not answer in time, or its answer was not a reply to the request.
        public static let noReply = Code(rawValue: "no_reply")
        /// The connection was closed: no request on it can be answered any more.
        public static let closed = Code(rawValue: "closed")
        /// What was asked for is not there (an inbox item, a TODO).
        public static let notFound = Code(rawValue: "not_found")
        /// A git command failed.
        public static let git = Code(rawValue: "git")
        /// A codex process failed or answered something unusable.
        public static let codex = Code(rawValue: "codex")
        /// A state directory is in use by another process (a coordinator, or a command working on it offline).
        public static let inUse = Code(rawValue: "in_use")
        /// Waiting for something (an AI review) took longer than the caller allowed; it may still end later.
        public static let timedOut = Code(rawValue: "timed_out")
        /// What was asked cannot be done as given (a name already used, a value out of range); the message says why.
        public static let invalid = Code(rawValue: "invalid")
        /// The configuration would be unsafe to run (listening where other machines can reach without keys).
        public static let unsafe = Code(rawValue: "unsafe")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
