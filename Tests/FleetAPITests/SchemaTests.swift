import BallastTestSupport
import Cost
import Foundation
import Testing
import Wire
import WireFormat

@testable import FleetAPI

/// The fleet's messages as docs/wire.md and docs/schemas describe them: each schema name, how Swift reads a
/// document of it, and writes it back with the wire's encoding (sorted keys).
enum FleetMessages {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemaDirectory = root.appendingPathComponent("docs/schemas").path
    static let validator = root.appendingPathComponent("Tests/WirePeers/python/schemas.py").path

    static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    static func reader<Value: Codable & Equatable>(_ type: Value.Type) -> @Sendable (Data) throws -> Data {
        { data in
            let value = try JSONDecoder().decode(Value.self, from: data)
            let bytes = try encode(value)
            #expect(try JSONDecoder().decode(Value.self, from: bytes) == value)
            return bytes
        }
    }

    static let readers: [String: @Sendable (Data) throws -> Data] = [
        "agent-report": reader(AgentReport.self),
        "report-acknowledgement": reader(ReportAcknowledgement.self),
        "launch-command": reader(LaunchCommand.self),
        "launch-receipt": reader(LaunchReceipt.self),
        "drain-command": reader(DrainCommand.self),
        "drain-receipt": reader(DrainReceipt.self),
        "terminate-orphans-command": reader(TerminateOrphansCommand.self),
        "orphan-termination-receipt": reader(OrphanTerminationReceipt.self),
        "routed-interruption": reader(RoutedInterruption.self),
        "routed-interruption-receipt": reader(RoutedInterruptionReceipt.self),
        "fleet-status": reader(FleetStatus.self),
        "leader-info": reader(LeaderInfo.self),
        "fleet-budget-or-null": reader(FleetBudget?.self),
        "cluster-id": reader(ClusterID.self),
        "cluster-id-or-null": reader(ClusterID?.self),
        "node-name": reader(String.self),
        "cluster-policy": reader(ClusterPolicy.self),
        "policy-change": reader(PolicyChange.self),
        "journal-after": reader(UInt64.self),
        "journal-limit": reader(Int.self),
        "journal-entries": reader([JournalEntry].self),
        "error-stale-epoch": reader(StaleEpochError.self),
        "error-command-rejected": reader(CommandRejectedError.self),
        "error-not-leader": reader(NotLeaderError.self),
        "error-retired-call": reader(RetiredCall.self),
        "failover-request": reader(FailoverRequest.self),
        "failover-state": reader(FailoverState.self),
    ]

    /// The detail of `wire.retired-call` as docs/wire.md §5.2 gives it.
    struct RetiredCall: Codable, Equatable {
        var call: String
        var replacement: String?
    }
}

@Suite("docs/schemas against the Swift coders")
struct SchemaTests {
    @Test("every schema file has a Swift reader, and every reader a schema")
    func everySchemaIsRead() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: FleetMessages.schemaDirectory)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        #expect(Set(files) == Set(FleetMessages.readers.keys))
    }

    @Test("random documents valid under each schema read into Swift and are written back valid", arguments: [1, 2, 3])
    func schemaToSwift(seed: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-schemas-\(UUID())")
        let written = directory.appendingPathComponent("written")
        try FileManager.default.createDirectory(at: written, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await runToCompletion(
            "python3",
            [FleetMessages.validator, "generate", FleetMessages.schemaDirectory, directory.path, "\(seed)", "20"]
        )
        var count = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".json") {
            let schema = String(name.split(separator: ".")[0])
            let read = try #require(FleetMessages.readers[schema], "\(name)")
            let document = try Data(contentsOf: directory.appendingPathComponent(name))
            do {
                try read(document).write(to: written.appendingPathComponent(name))
                count += 1
            } catch {
                Issue.record("\(name) does not read: \(error)\n\(String(decoding: document, as: UTF8.self))")
            }
        }
        #expect(count == 20 * FleetMessages.readers.count)
        // What Swift wrote back is valid too (the validator exits non-zero on any failure).
        _ = try await runToCompletion(
            "python3",
            [FleetMessages.validator, "validate", FleetMessages.schemaDirectory, written.path]
        )
    }

    @Test("randomised reports and fleet messages written by Swift are valid under their schemas", arguments: [7, 8])
    func swiftToSchema(seed: UInt64) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-swift-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = ReportGenerator(random: SplitMix64(seed: seed))
        for index in 0..<25 {
            func write<Value: Encodable>(_ schema: String, _ value: Value) throws {
                try FleetMessages.encode(value).write(to: directory.appendingPathComponent("\(schema).\(index).json"))
            }
            let report = generator.report()
            try write("agent-report", report)
            let epoch = FencingEpoch(generator.random.next())
            try write(
                "report-acknowledgement",
                ReportAcknowledgement(coordinator: generator.string(), isLeader: index % 2 == 0, epoch: epoch)
            )
            let token = LaunchToken(rawValue: "bl-" + String(generator.random.next(), radix: 16))
            let stamp = CommandStamp(epoch: epoch, generation: generator.random.next(), leader: generator.string())
            try write(
                "launch-command",
                LaunchCommand(
                    stamp: stamp,
                    cluster: ClusterID(generator.string()),
                    instanceType: generator.string(),
                    market: index % 2 == 0 ? .spot : .onDemand,
                    availabilityZone: generator.string(),
                    count: generator.int(),
                    token: token,
                    reason: generator.string()
                )
            )
            try write("launch-receipt", LaunchReceipt(token: token, instanceIDs: [generator.string()]))
            try write(
                "drain-command",
                DrainCommand(
                    stamp: stamp,
                    cluster: ClusterID(generator.string()),
                    nodeName: generator.string(),
                    deadlineSeconds: generator.int(),
                    reason: generator.string()
                )
            )
            try write("drain-receipt", DrainReceipt(nodeName: generator.string(), alreadyDraining: index % 3 == 0))
            try write(
                "terminate-orphans-command",
                TerminateOrphansCommand(
                    stamp: stamp,
                    cluster: ClusterID(generator.string()),
                    instanceIDs: (0..<(index % 3)).map { _ in generator.string() },
                    reason: generator.string()
                )
            )
            try write(
                "routed-interruption",
                RoutedInterruption(
                    stamp: stamp,
                    cluster: ClusterID(generator.string()),
                    messageID: generator.string(),
                    kind: [.spotInterruption, .rebalanceRecommendation, .stateChange, .scheduledChange][index % 4],
                    instanceIDs: (0..<(1 + index % 2)).map { _ in generator.string() },
                    time: index % 3 == 0 ? nil : generator.timestamp(),
                    state: index % 2 == 0 ? nil : generator.string()
                )
            )
            try write(
                "routed-interruption-receipt",
                RoutedInterruptionReceipt(
                    messageID: generator.string(),
                    handled: (0..<(index % 3)).map { _ in generator.string() }
                )
            )
            try write(
                "orphan-termination-receipt",
                OrphanTerminationReceipt(
                    terminated: (0..<(index % 3)).map { _ in generator.string() },
                    gone: (0..<(index % 2)).map { _ in generator.string() },
                    kept: (0..<(index % 4)).map { _ in .init(instanceID: generator.string(), reason: generator.string())
                    }
                )
            )
            let line = ClusterStatus(
                cluster: report.cluster.clusterID,
                region: generator.string(),
                reportAgeSeconds: generator.double(),
                onDemandNodes: generator.int(),
                spotNodes: generator.int(),
                readyNodes: generator.int(),
                pendingPods: generator.int(),
                cpuUtilisation: generator.double(),
                desiredNodes: generator.int(),
                plannedLaunches: generator.int(),
                plannedDrains: generator.int(),
                plannedUSDPerHour: generator.double(),
                planStatus: index % 2 == 0 ? nil : "planned",
                reasons: [generator.string()]
            )
            try write(
                "fleet-status",
                FleetStatus(
                    coordinator: generator.string(),
                    isLeader: index % 2 == 1,
                    epoch: epoch,
                    planGeneration: generator.random.next(),
                    clusters: [line],
                    planReasons: [generator.string()]
                )
            )
            try write(
                "leader-info",
                LeaderInfo(
                    coordinator: generator.string(),
                    isLeader: true,
                    epoch: epoch,
                    holder: index % 2 == 0 ? nil : generator.string(),
                    address: index % 3 == 0 ? nil : "10.0.0.1:7400"
                )
            )
            let budget: FleetBudget? =
                index % 4 == 0
                ? nil
                : FleetBudget(
                    monthlyUSD: generator.double(),
                    regionalMonthlyUSD: [generator.string(): generator.double()]
                )
            try write("fleet-budget-or-null", budget)
            var policy = ClusterPolicy()
            policy.minNodes = generator.int()
            policy.targetSpotShare = generator.double()
            policy.priorityClass = PriorityClass.allCases[index % 4]
            policy.warmHeadroom = [.none, .nodes(generator.int()), .shareOfDemand(generator.double())][index % 3]
            policy.scaleDownUnneeded = .milliseconds(generator.int() / 1000)
            policy.failoverTargets = [ClusterID(generator.string())]
            try write("cluster-policy", policy)
            try write(
                "policy-change",
                PolicyChange(minNodes: index % 2 == 0 ? nil : generator.int(), weight: generator.double(), paused: true)
            )
            try write(
                "journal-entries",
                [
                    JournalEntry(
                        sequence: generator.random.next(),
                        time: generator.timestamp(),
                        cluster: index % 2 == 0 ? nil : ClusterID(generator.string()),
                        kind: "launch",
                        message: generator.string(),
                        epoch: epoch
                    )
                ]
            )
            try write(
                "error-stale-epoch",
                StaleEpochError(presented: epoch, highestSeen: FencingEpoch(generator.random.next()))
            )
            try write("error-command-rejected", CommandRejectedError(.identityMismatch, generator.string()))
            try write("error-not-leader", NotLeaderError(leader: index % 2 == 0 ? nil : generator.string()))
            try write(
                "failover-request",
                FailoverRequest(
                    region: index % 2 == 0 ? generator.string() : nil,
                    cluster: index % 2 == 0 ? nil : ClusterID(generator.string()),
                    targets: (0..<(index % 3)).map { _ in ClusterID(generator.string()) }
                )
            )
            try write(
                "failover-state",
                FailoverState(
                    failedRegions: (0..<(index % 3)).map { _ in generator.string() },
                    failedClusters: (0..<(index % 2)).map { _ in ClusterID(generator.string()) }
                )
            )
            try write(
                "policy-change",
                PolicyChange(minNodes: generator.int(), failoverTargets: [ClusterID(generator.string())])
            )
        }
        _ = try await runToCompletion(
            "python3",
            [FleetMessages.validator, "validate", FleetMessages.schemaDirectory, directory.path]
        )
    }
}

@Suite("docs/wire.md golden fleet calls")
struct FleetGoldenVectorTests {
    static func vectors() throws -> [String: [UInt8]] {
        let text = try String(contentsOf: FleetMessages.root.appendingPathComponent("docs/wire.md"), encoding: .utf8)
        var vectors: [String: [UInt8]] = [:]
        var current: (name: String, bytes: [UInt8])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let block = current {
                if line.hasPrefix("```") {
                    vectors[block.name] = block.bytes
                    current = nil
                } else {
                    current?.bytes += line.split(separator: " ").compactMap { UInt8($0, radix: 16) }
                }
            } else if line.hasPrefix("```hex fleet-") {
                current = (String(line.dropFirst("```hex ".count)), [])
            }
        }
        return vectors
    }

    /// Each vector: its call name or reply, and the schema of its one JSON document.
    static let expected: [String: (target: String?, schema: String)] = [
        "fleet-report-call": ("fleet.coordinator.report", "agent-report"),
        "fleet-report-reply": (nil, "report-acknowledgement"),
        "fleet-status-call": ("fleet.admin.status", ""),
        "fleet-status-reply": (nil, "fleet-status"),
        "fleet-launch-call": ("fleet.agent.launch", "launch-command"),
        "fleet-launch-reply": (nil, "launch-receipt"),
        "fleet-stale-epoch-reply": (nil, "error-stale-epoch"),
    ]

    @Test("each golden fleet call names a registered call and its JSON reads into Swift and back to the same bytes")
    func vectorsReadAndRewrite() throws {
        let vectors = try Self.vectors()
        #expect(Set(vectors.keys) == Set(Self.expected.keys))
        let names = Set(FleetAPI.endpoints.flatMap { $0.calls.map(\.name) })
        for (name, bytes) in vectors {
            let (target, schema) = try #require(Self.expected[name])
            let messages = try WireFrame.decodeStream(bytes, limits: .init())
            let document: [UInt8]?
            switch messages.first {
            case .call(let call):
                #expect(call.target == target && names.contains(call.target), "\(name)")
                #expect(call.genericSubstitutions.isEmpty)
                document = call.arguments.first
            case .reply(let reply):
                switch reply.outcome {
                case .value(let value): document = value
                case .error(let body):
                    #expect(body.code == StaleEpochError.wireErrorCode)
                    document = body.detail
                }
            default:
                Issue.record("\(name) is neither a call nor a reply")
                continue
            }
            guard !schema.isEmpty, let document else { continue }
            let read = try #require(FleetMessages.readers[schema])
            #expect(Array(try read(Data(document))) == document, "\(name)")
        }
    }
}
