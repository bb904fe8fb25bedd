import DroverProtocol
import Hummingbird

/// What `/readyz` answers, decided from one `status` round trip to the coordinator's control socket.
///
/// The dashboard starts only once the coordinator has loaded its state and bound its three sockets, so a server that
/// answers at all has those behind it; the round trip shows that the coordinator's loop still takes requests. Any
/// reply counts, a refusal too (the coordinator answered); no reply in time, or a connection already closed, does not.
enum Readiness: Equatable, Sendable {
    case ready
    /// Not ready, and why, in a few words for `kubectl describe` and the kubelet's events.
    case notReady(String)

    /// The readiness that a `status` request's outcome shows.
    /// - Parameters:
    ///   - outcome: the reply, or what the request threw.
    ///   - timeout: how long the request waited, for the reason.
    static func of(_ outcome: Result<StatusBody, any Error>, timeout: Duration) -> Readiness {
        switch outcome {
        case .success:
            return .ready
        case .failure(is ProtocolError):
            // A refusal is an answer: the loop runs and takes requests.
            return .ready
        case .failure(let error as DroverError) where error.code == .noReply:
            return .notReady("the coordinator's control socket did not answer within \(timeout)")
        case .failure(let error as DroverError) where error.code == .closed:
            return .notReady("the dashboard's connection to the coordinator is closed (shutting down)")
        case .failure(is CancellationError):
            return .notReady("shutting down")
        case .failure(let error):
            return .notReady("the coordinator's control socket failed: \(error)")
        }
    }

    /// 200 when ready, 503 when not.
    var status: HTTPResponse.Status {
        self == .ready ? .ok : .serviceUnavailable
    }

    /// The plain-text body: `ready`, or `not ready: ` and the reason, one line.
    var body: String {
        switch self {
        case .ready: "ready\n"
        case .notReady(let reason): "not ready: \(reason)\n"
        }
    }
}
