import Foundation

/// Where a coordinator listens: work 7100, events 7101, control 7102 by default; `ipc://` works on one machine.
public struct Endpoints: Codable, Sendable, Equatable {
    /// ROUTER for workers.
    public var work: String
    /// PUB for observers.
    public var events: String
    /// ROUTER for operators (`drover status`, `drover plan submit`).
    public var control: String

    public init(
        work: String = "tcp://127.0.0.1:7100",
        events: String = "tcp://127.0.0.1:7101",
        control: String = "tcp://127.0.0.1:7102"
    ) {
        self.work = work
        self.events = events
        self.control = control
    }

    /// ipc endpoints under a directory: the single-machine mode of `drover run`.
    public static func ipc(in directory: String) -> Endpoints {
        Endpoints(
            work: "ipc://\(directory)/work.sock",
            events: "ipc://\(directory)/events.sock",
            control: "ipc://\(directory)/control.sock"
        )
    }

    /// Turns a bind address into one a peer can connect to (`tcp://0.0.0.0:7100` → `tcp://127.0.0.1:7100`).
    public static func connectable(_ endpoint: String) -> String {
        endpoint.replacingOccurrences(of: "tcp://0.0.0.0:", with: "tcp://127.0.0.1:")
            .replacingOccurrences(of: "tcp://*:", with: "tcp://127.0.0.1:")
    }
}
