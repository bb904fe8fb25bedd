// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for what Drover reads from outside: the wire codec, plan files, codex exec's JSONL and app-server's
// messages. Apart from the main package so that its `swift build` and `swift test` stay as they are; `scripts/fuzz`
// builds this with `--sanitize fuzzer --sanitize address` and runs each target on its corpus in `Corpus/<target>/`.
let package = Package(
    name: "drover-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "drover", path: "..")],
    targets: [
        .executableTarget(name: "WireFuzz", dependencies: [.product(name: "DroverProtocol", package: "drover")]),
        .executableTarget(
            name: "PlanFuzz",
            dependencies: [.product(name: "DroverPlans", package: "drover"), .product(name: "DroverProtocol", package: "drover")]
        ),
        .executableTarget(
            name: "CodexExecFuzz",
            dependencies: [.product(name: "Worker", package: "drover"), .product(name: "DroverProtocol", package: "drover")]
        ),
        .executableTarget(
            name: "AppServerFuzz",
            dependencies: [.product(name: "Worker", package: "drover"), .product(name: "DroverProtocol", package: "drover")]
        ),
    ]
)

// libFuzzer supplies `main`: each target defines only `LLVMFuzzerTestOneInput`.
for target in package.targets {
    target.swiftSettings = [.unsafeFlags(["-parse-as-library"])]
}
