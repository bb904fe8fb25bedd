/// A key file that cannot be used: missing, unreadable, malformed, or a secret one that others can read. The message
/// names the file and says what to do.
public struct KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file is not there or cannot be read.
        public static let missing = Code("missing")
        /// The file holds no key, or text that is not one.
        public static let malformed = Code("malformed")
        /// A secret key file that its group or others may read or write.
        public static let exposed = Code("exposed")
        /// The file's secret and public keys do not belong together.
        public static let mismatched = Code("mismatched")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The same problem, said of `path`.
    func about(_ path: String) -> KeyFileError { KeyFileError(code, "\(path): \(message)") }

    public var description: String { message }
}
