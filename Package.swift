// swift-tools-version:6.0
import PackageDescription

// MARK: - Shared settings

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

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
        .library(name: "Shared", targets: ["Shared"]),
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
    ],
    targets: [
        // MARK: - C shims

        // libzmq from the system (Debian: libzmq3-dev). No pkgConfig: Debian's libzmq.pc makes SwiftPM warn on
        // every build, and the headers are in /usr/include anyway.
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]),
        // The few POSIX calls Swift cannot make safely itself (fork/exec of a guarded process group, eventfd).
        .target(name: "CDroverSys"),

        // MARK: - Libraries

        .target(name: "Shared", dependencies: ["CZeroMQ", "CDroverSys", logging, yams], swiftSettings: swiftSettings),
        .target(
            name: "Coordinator",
            dependencies: [
                "Shared", logging, serviceLifecycle, grdb, .product(name: "GRDBSQLite", package: "GRDB.swift"), dequeModule, prometheus,
                hummingbird, hummingbirdWebSocket,
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Worker", dependencies: ["Shared", "CDroverSys", logging, serviceLifecycle], swiftSettings: swiftSettings),

        // A Responses API server on 127.0.0.1 that plays scripts: what codex talks to in tests and the demo.
        .target(name: "ScriptedModel", swiftSettings: swiftSettings),

        // MARK: - Executables

        .executableTarget(
            name: "drover",
            dependencies: ["Shared", "Coordinator", "Worker", "ScriptedModel", argumentParser, logging, serviceLifecycle, unixSignals],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "drover-bench",
            dependencies: ["Shared", "Coordinator", "Worker", "ScriptedModel", argumentParser, logging, webSocketClient],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests

        // Temporary directories and bounded waits, shared by the unit test targets.
        .target(name: "DroverTestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "DroverTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "Shared"], swiftSettings: swiftSettings),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "Shared", "DroverTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Shared", "Coordinator", "Worker", "ScriptedModel", "drover", webSocketClient],
            swiftSettings: swiftSettings
        ),
    ]
)
