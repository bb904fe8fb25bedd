// swift-tools-version:6.0
import PackageDescription

// MARK: - Dependencies

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let dequeModule = Target.Dependency.product(name: "DequeModule", package: "swift-collections")
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let yams = Target.Dependency.product(name: "Yams", package: "Yams")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdWebSocket = Target.Dependency.product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")
let webSocketClient = Target.Dependency.product(name: "HummingbirdWSClient", package: "hummingbird-websocket")

let package = Package(
    name: "drover",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "drover", targets: ["drover"]),
        .executable(name: "drover-bench", targets: ["drover-bench"]),
        .library(name: "DroverProtocol", targets: ["DroverProtocol"]),
        .library(name: "DroverTransport", targets: ["DroverTransport"]),
        .library(name: "DroverPlans", targets: ["DroverPlans"]),
        .library(name: "DroverClients", targets: ["DroverClients"]),
        .library(name: "Coordinator", targets: ["Coordinator"]),
        .library(name: "Worker", targets: ["Worker"]),
        .library(name: "ScriptedModel", targets: ["ScriptedModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // MARK: - C shims

        // libzmq from the system (Debian: libzmq3-dev). No pkgConfig: Debian's libzmq.pc makes SwiftPM warn on
        // every build, and the headers are in /usr/include anyway.
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]),
        // The few POSIX calls Swift cannot make safely itself (fork/exec of a guarded process group, eventfd).
        .target(name: "CDroverSys"),

        // MARK: - Libraries

        // The wire protocol: message bodies, the codec, events, the plan model and its validation. Foundation only, so
        // anything that speaks to Drover can link it alone.
        .target(name: "DroverProtocol"),
        // ZeroMQ: sockets, the one-thread socket loop, endpoints.
        .target(name: "DroverTransport", dependencies: ["CZeroMQ", "CDroverSys"]),
        // Plan files (YAML or JSON) read with line and column for every problem.
        .target(name: "DroverPlans", dependencies: ["DroverProtocol", yams]),
        // What operators and observers use: the control client, event followers, the fleet view.
        .target(name: "DroverClients", dependencies: ["DroverProtocol", "DroverTransport"]),
        .target(
            name: "Coordinator",
            dependencies: [
                "DroverProtocol", "DroverTransport", "DroverClients", logging, serviceLifecycle, grdb,
                .product(name: "GRDBSQLite", package: "GRDB.swift"), dequeModule, prometheus, hummingbird, hummingbirdWebSocket,
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "Worker", dependencies: ["DroverProtocol", "DroverTransport", "CDroverSys", logging, serviceLifecycle]),

        // A Responses API server on 127.0.0.1 that plays scripts: what codex talks to in tests and the demo.
        .target(name: "ScriptedModel"),

        // MARK: - Executables

        .executableTarget(
            name: "drover",
            dependencies: [
                "DroverProtocol", "DroverTransport", "DroverPlans", "DroverClients", "Coordinator", "Worker", "ScriptedModel",
                argumentParser, logging, serviceLifecycle, unixSignals,
            ]
        ),
        .executableTarget(
            name: "drover-bench",
            dependencies: [
                "DroverProtocol", "DroverTransport", "DroverClients", "Coordinator", "Worker", "ScriptedModel", argumentParser, logging,
                webSocketClient,
            ]
        ),

        // MARK: - Tests

        // Temporary directories, bounded waits and processes: the helpers every test target shares.
        .target(name: "DroverTesting", path: "Tests/DroverTesting"),
        .testTarget(
            name: "SharedTests",
            dependencies: ["DroverProtocol", "DroverTransport", "DroverPlans", "DroverClients", "DroverTesting"]
        ),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "DroverProtocol", "DroverTesting"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "DroverProtocol", "DroverTransport", "DroverTesting", "ScriptedModel"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "DroverProtocol", "DroverTransport", "DroverPlans", "DroverClients", "Coordinator", "Worker", "ScriptedModel", "drover",
                "DroverTesting", webSocketClient,
            ]
        ),
    ]
)

// MARK: - Settings for every Swift target

// Swift 6 language mode comes from the tools version; these upcoming features apply to every target alike.
let cTargets: Set<String> = ["CZeroMQ", "CDroverSys"]
for target in package.targets where !cTargets.contains(target.name) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
