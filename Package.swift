// swift-tools-version: 6.1
//
// Ballast: keeps a fleet of K3s clusters on AWS sized right.
//
// Module dependency direction, lowest first (see docs/architecture.md):
//
//   Cost          pure: prices, budgets, the planner; no I/O, no dependencies
//   WireFormat    pure: frame, handshake and envelope encoding; no dependencies (fuzzed on its own)
//   Wire          SwiftNIO transport + the distributed actor system (WireFormat below it)
//   AWSClients    SigV4, DynamoDB, EC2, SQS over AsyncHTTPClient
//   Consensus     lease stores (DynamoDB, SQLite) and leader election with fencing
//   ClusterAgent  the agent actor and its ports
//   Coordinator   the coordinator actor: registry, planner, reconciler
//   executables   coordinator, cluster-agent, coordctl: thin, parse config and run a ServiceGroup
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "ballast",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coordinator", targets: ["CoordinatorMain"]),
        .executable(name: "cluster-agent", targets: ["ClusterAgentMain"]),
        .executable(name: "coordctl", targets: ["CoordCtl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // MARK: Libraries
        .target(name: "Cost", swiftSettings: swiftSettings),
        .target(name: "WireFormat", swiftSettings: swiftSettings),
        .target(
            name: "Wire",
            dependencies: [
                "WireFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AWSClients",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Consensus",
            dependencies: [
                "AWSClients",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClusterAgent",
            dependencies: [
                "Wire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Coordinator",
            dependencies: [
                "Wire", "Cost", "Consensus",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (thin)
        .executableTarget(
            name: "CoordinatorMain",
            dependencies: [
                "Coordinator", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Executables/coordinator",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ClusterAgentMain",
            dependencies: [
                "ClusterAgent", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Executables/cluster-agent",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CoordCtl",
            dependencies: [
                "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Executables/coordctl",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "lease-probe",
            dependencies: [
                "Consensus", "AWSClients",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Executables/lease-probe",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(
            name: "CostTests",
            dependencies: ["Cost", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire", "WireFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BallastTestSupport",
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSClientsTests",
            dependencies: [
                "AWSClients", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConsensusTests",
            dependencies: [
                "Consensus", "AWSClients", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
