import BallastTestSupport
import Clocks
import Cost
import Crypto
import Foundation
import Testing
import Wire

@testable import Coordinator
@testable import FleetAPI

/// A second implementation of the wire, in Python from docs/wire.md alone (Tests/WirePeers/python), against a
/// coordinator actor that does not lead, over TCP: it authenticates as the agent of a cluster and as an operator,
/// reports, reads the status, and meets a refused role, an unknown name, the typed error of a follower and a
/// refused secret. Against a `coordinator` process and `coordctl`, see FleetEndToEndTests.
@Suite("a Python peer written from docs/wire.md")
struct PythonPeerTests {
    static let peerScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("WirePeers/python/ballast_peer.py").path

    static func hexSecret() -> (hex: String, key: SymmetricKey) {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        return (bytes.map { String(format: "%02x", $0) }.joined(), SymmetricKey(data: bytes))
    }

    static func runPeer(_ arguments: [String]) async throws -> [String: Any] {
        let output = try await runToCompletion("python3", [peerScript] + arguments)
        let object = try JSONSerialization.jsonObject(with: output)
        return try #require(object as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
    }

    @Test("it reports as an agent and reads the status as an operator; the numbers are the coordinator's")
    func reportAndStatus() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-peer-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let agentSecret = Self.hexSecret()
        let adminSecret = Self.hexSecret()
        try (agentSecret.hex + "\n").write(
            to: directory.appendingPathComponent("eu-web.key"),
            atomically: true,
            encoding: .utf8
        )
        try (adminSecret.hex + "\n").write(
            to: directory.appendingPathComponent("admin.key"),
            atomically: true,
            encoding: .utf8
        )

        var configuration = FleetAPI.wireConfiguration(
            nodeID: "coord-1",
            role: .coordinator,
            secrets: WireSecrets { node, role in
                switch role {
                case .agent: node == "eu-web" ? agentSecret.key : nil
                case .admin: adminSecret.key
                case .coordinator: nil
                }
            }
        )
        configuration.callTimeout = .seconds(5)
        let system = try WireActorSystem(configuration: configuration)
        let coordinator = try CoordinatorActorTests.coordinator(on: system)
        let address = try await system.listen(host: "127.0.0.1", port: 0)
        let port = try #require(address.port)

        // The report the Python agent sends: what the Swift coders write for a real observation.
        var report = try await FixedCluster().observe(at: SystemClock().timestamp)
        report.pending = PendingPods(
            count: 3,
            totalRequests: Resources(cpuMillicores: 1500, memoryBytes: 1 << 30),
            largestRequest: Resources(cpuMillicores: 500, memoryBytes: 1 << 29)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reportFile = directory.appendingPathComponent("report.json")
        try encoder.encode(AgentReport(cluster: report, highestEpochSeen: FencingEpoch(3))).write(to: reportFile)

        let common = ["--port", "\(port)"]
        let asAgent = try await Self.runPeer(
            common + [
                "--node", "eu-web", "--role", "agent",
                "--secret-file", directory.appendingPathComponent("eu-web.key").path, "report", reportFile.path,
            ]
        )
        #expect(asAgent["coordinator"] as? String == "coord-1")
        let acknowledgement = try #require(asAgent["acknowledgement"] as? [String: Any], "\(asAgent)")
        #expect(acknowledgement["coordinator"] as? String == "coord-1")
        #expect(acknowledgement["isLeader"] as? Bool == false)
        let refused = try #require(asAgent["refused"] as? [String: Any])
        #expect(refused["code"] as? String == "wire.unknown-target")

        let asAdmin = try await Self.runPeer(
            common + [
                "--node", "ops-1", "--role", "admin",
                "--secret-file", directory.appendingPathComponent("admin.key").path, "status",
            ]
        )
        let status = try #require(asAdmin["status"] as? [String: Any], "\(asAdmin)")
        let clusters = try #require(status["clusters"] as? [[String: Any]])
        let line = try #require(clusters.first { $0["cluster"] as? String == "eu-web" })
        // The Python peer's numbers are the coordinator's own, and those of the report it sent.
        let own = try await coordinator.status()
        let swiftLine = try #require(own.clusters.first { $0.cluster == "eu-web" })
        let active = report.nodes.filter(\.isActive)
        #expect(line["onDemandNodes"] as? Int == swiftLine.onDemandNodes)
        #expect(line["spotNodes"] as? Int == swiftLine.spotNodes)
        #expect(line["pendingPods"] as? Int == 3)
        #expect(swiftLine.pendingPods == 3)
        #expect(swiftLine.onDemandNodes + swiftLine.spotNodes == active.count)
        #expect((line["cpuUtilisation"] as? NSNumber)?.doubleValue == swiftLine.cpuUtilisation)
        #expect(status["coordinator"] as? String == "coord-1")
        #expect((status["epoch"] as? NSNumber)?.uint64Value == own.epoch.rawValue)
        #expect((acknowledgement["epoch"] as? NSNumber)?.uint64Value == own.epoch.rawValue)

        let unknown = try #require(asAdmin["unknown"] as? [String: Any])
        #expect(unknown["code"] as? String == "wire.unknown-target")
        // A change sent to a replica that does not lead: the typed error of the application, with its detail.
        let change = try await Self.runPeer(
            common + [
                "--node", "ops-1", "--role", "admin",
                "--secret-file", directory.appendingPathComponent("admin.key").path, "set-budget", "100",
            ]
        )
        let typed = try #require(change["typedError"] as? [String: Any], "\(change)")
        #expect(typed["code"] as? String == NotLeaderError.wireErrorCode)
        #expect(typed["detail"] is [String: Any])

        // A wrong secret: the Python peer sees the refusal the document describes, after it sent its proof.
        let wrong = directory.appendingPathComponent("wrong.key")
        try (Self.hexSecret().hex + "\n").write(to: wrong, atomically: true, encoding: .utf8)
        let refusedPeer = try await Self.runPeer(
            common + ["--node", "ops-1", "--role", "admin", "--secret-file", wrong.path, "status"]
        )
        let refusal = try #require(refusedPeer["refusal"] as? [String: Any], "\(refusedPeer)")
        #expect(refusal["code"] as? Int == 2)
        await system.shutdown()
    }
}
