import Foundation

/// Keeps the last `limit` bytes of a stream of output, for reports.
struct OutputTail {
    let limit: Int
    private(set) var bytes = Data()

    init(limit: Int = 4096) { self.limit = limit }

    mutating func append(_ data: Data) {
        bytes.append(data)
        if bytes.count > limit * 2 { bytes = bytes.suffix(limit) }
    }

    var text: String { String(decoding: bytes.suffix(limit), as: UTF8.self) }
}
