// swift-tools-version: 6.1
//
// Ballast: keeps a fleet of K3s clusters on AWS sized right.
//
// Module dependency direction, lowest first (see docs/architecture.md):
//
//   Cost          pure: prices, budgets, the planner; no I/O, no dependencies
//   WireFormat    pure: frame, handshake and envelope encoding; no dependencies (fuzzed on its own)
//   WireJSON      pure: the JSON reader and writer of the hand-written coders; no dependencies (fuzzed on its own)
//   Wire          SwiftNIO transport + the distributed actor system (WireFormat, WireJSON below it)
//   AWSClients    SigV4, DynamoDB, EC2, SQS over AsyncHTTPClient
//   KubernetesClient  kubeconfig, typed nodes and pods, list/watch/cordon/evict over AsyncHTTPClient
//   Consensus     lease stores (DynamoDB, SQLite) and leader election with fencing
//   PrometheusClient  PromQL instant queries over AsyncHTTPClient
//   ClusterAgent  the agent actor and its ports
//   AgentAdapters the real implementations of the agent's ports (EC2, SQS, Prometheus)
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
        .executable(name: "wire-bench", targets: ["WireBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // MARK: Libraries
        .target(
            name: "Cost",
            exclude: ["Resources"],
            swiftSettings: swiftSettings,
            // Rounding in the planner calls libm directly; Cost imports no Foundation to pull it in.
            linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
        ),
        .target(name: "WireFormat", swiftSettings: swiftSettings),
        .target(name: "WireJSON", swiftSettings: swiftSettings),
        .target(name: "Fencing", swiftSettings: swiftSettings),
        .target(name: "Clocks", swiftSettings: swiftSettings),
        .target(
            name: "BallastConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Wire",
            dependencies: [
                "WireFormat", "WireJSON",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
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
            name: "Observability",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FleetAPI",
            dependencies: [
                "Fencing", "Wire", "WireFormat", "WireJSON", "Cost", "Clocks",
                .product(name: "Crypto", package: "swift-crypto"),
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
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubernetesClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PrometheusClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Consensus",
            dependencies: [
                "Fencing",
                "AWSClients",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClusterAgent",
            dependencies: [
                "Wire", "WireFormat", "FleetAPI", "Cost", "Clocks", "BallastConfig",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Coordinator",
            dependencies: [
                "Wire", "FleetAPI", "Cost", "Clocks", "BallastConfig", "Consensus", "AWSClients",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentAdapters",
            dependencies: [
                "ClusterAgent", "AWSClients", "PrometheusClient", "KubernetesClient", "Cost", "FleetAPI",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "CoordCtlCommands",
            dependencies: [
                "Wire", "WireFormat", "FleetAPI", "Cost", "BallastConfig", "Simulation", "Scenarios",
                "SimulationReport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "Scenarios",
            dependencies: ["Cost", "BallastConfig"],
            swiftSettings: swiftSettings
        ),
        .target(name: "SimulationReport", swiftSettings: swiftSettings),
        .target(
            name: "Simulation",
            dependencies: [
                "ClusterAgent", "Coordinator", "Cost", "Clocks", "Scenarios", "SimulationReport", "FleetAPI", "Wire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (thin)
        .executableTarget(
            name: "CoordinatorMain",
            dependencies: [
                "BallastConfig", "Observability",
                "Coordinator", "Consensus", "Simulation", "Wire", "WireFormat", "FleetAPI", "Cost", "Clocks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
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
                "BallastConfig", "Observability",
                "ClusterAgent", "AgentAdapters", "Simulation", "Wire", "WireFormat", "FleetAPI", "Cost", "Clocks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
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
            dependencies: ["CoordCtlCommands"],
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

        // MARK: Benchmarks (run in release: see docs/benchmarks.md)
        .executableTarget(
            name: "WireBench",
            dependencies: [
                "Wire", "WireFormat", "FleetAPI", "Cost",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            path: "Benchmarks/WireBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sim-bench",
            dependencies: ["Simulation", "Scenarios", "SimulationReport", "Cost"],
            path: "Benchmarks/SimBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            // The fake Kubernetes API server with a seeded cluster, as a process (scripts/agent-memory).
            name: "fake-kube",
            dependencies: ["FakeKubernetes"],
            path: "Benchmarks/FakeKube",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "planner-bench",
            dependencies: ["Cost"],
            path: "Benchmarks/PlannerBench",
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
                "Wire", "WireFormat", "WireJSON", "BallastTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "BallastConfigTests", dependencies: ["BallastConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ObservabilityTests",
            dependencies: [
                "Observability",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetAPITests",
            dependencies: [
                "FleetAPI", "Wire", "WireFormat", "WireJSON", "Cost", "BallastTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Coordinator", "ClusterAgent", .product(name: "Logging", package: "swift-log"), "BallastConfig", "Cost",
                "Clocks", "Consensus", "CoordCtlCommands", "Simulation", "AWSTestSupport", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "AWSClients",
                "FleetAPI", "Wire", "WireFormat", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClusterAgentTests",
            dependencies: [
                "ClusterAgent", "Simulation", "BallastConfig", "Cost", "Clocks", "FleetAPI", "Wire", "WireFormat",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Cost", "Scenarios", "SimulationReport", "Clocks", "ClusterAgent"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScenariosTests",
            dependencies: ["Scenarios", "BallastConfig", "Cost"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SimulationReportTests", dependencies: ["SimulationReport"], swiftSettings: swiftSettings),
        .testTarget(name: "ClocksTests", dependencies: ["Clocks"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FleetEndToEndTests",
            dependencies: ["BallastTestSupport", "AWSTestSupport", "AWSClients", "FakeKubernetes"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoordCtlTests",
            dependencies: [
                "CoordCtlCommands", "FleetAPI", "Cost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AWSTestSupport",
            dependencies: [
                "AWSClients", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AWSTestSupport",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BallastTestSupport",
            dependencies: [
                "Clocks", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSClientsTests",
            dependencies: [
                "AWSClients", "AWSTestSupport", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FakeKubernetes",
            dependencies: [
                "BallastTestSupport", "KubernetesClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/FakeKubernetes",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubernetesClientTests",
            dependencies: [
                "KubernetesClient", "FakeKubernetes", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PrometheusClientTests",
            dependencies: [
                "PrometheusClient", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentAdaptersTests",
            dependencies: [
                "AgentAdapters", "ClusterAgent", "AWSClients", "PrometheusClient", "KubernetesClient", "FakeKubernetes",
                "Simulation", "Clocks", "Cost", "FleetAPI",
                "AWSTestSupport", "BallastTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeployTests",
            dependencies: [
                "AgentAdapters", "ClusterAgent", "Consensus", "Coordinator", "AWSClients", "Cost", "FleetAPI",
                "Fencing", "AWSTestSupport", "BallastTestSupport",
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
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
