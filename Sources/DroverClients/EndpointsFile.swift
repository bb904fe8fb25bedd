import DroverProtocol
import DroverTransport
import Foundation

/// `endpoints.json` in a state directory: where the coordinator that owns the directory listens, so that
/// `drover status`, `drover plan submit` and `drover events --follow` on the same machine find it without flags.
public enum EndpointsFile {
    public static func path(in stateDirectory: String) -> String { "\(stateDirectory)/endpoints.json" }

    public static func write(_ endpoints: Endpoints, in stateDirectory: String) throws {
        let data = WireCodec().json(endpoints)
        try data.write(to: URL(fileURLWithPath: path(in: stateDirectory)), options: .atomic)
    }

    /// The endpoints recorded in the directory, or nil when there is no readable file.
    public static func read(in stateDirectory: String) -> Endpoints? {
        guard let data = FileManager.default.contents(atPath: path(in: stateDirectory)) else { return nil }
        return try? WireCodec().decode(Endpoints.self, from: data)
    }
}
