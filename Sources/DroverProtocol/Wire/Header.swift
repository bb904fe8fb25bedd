/// The first JSON frame of every work and control message.
public struct Header: Codable, Sendable, Equatable {
    /// The protocol version this build speaks.
    public static let currentVersion = 1

    /// Protocol version.
    public var v: Int
    public var type: MessageType
    /// Unique per message; acks and errors name it in `ref`.
    public var id: String
    /// Per-sender sequence number; reports are deduplicated by `(lease_id, seq)`.
    public var seq: UInt64
    /// Milliseconds since the Unix epoch at the sender.
    public var ts: Int64

    public init(type: MessageType, id: String, seq: UInt64, ts: Int64 = wallClockMilliseconds()) {
        self.v = Self.currentVersion
        self.type = type
        self.id = id
        self.seq = seq
        self.ts = ts
    }
}
