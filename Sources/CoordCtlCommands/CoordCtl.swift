// CoordCtlCommands: the verbs and tables of coordctl, the operator's CLI, as a library the tests reach; the
// executable only runs `CoordCtl.main()`. It connects to a coordinator replica as an admin over the wire (HMAC
// with the admin secret) and asks it; it never bypasses the coordinators.
import ArgumentParser
import BallastConfig
import Crypto
import FleetAPI
import Foundation
import Logging
import Wire
import WireFormat

/// The `coordctl` command and its verbs.
public struct CoordCtl: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "coordctl",
        abstract: "Operate a Ballast fleet.",
        subcommands: [Status.self]
    )
}

/// Where the coordinator is and how to prove we are its operator.
public struct ConnectionOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "A coordinator replica, host:port.")
    var coordinator: String = "127.0.0.1:7400"

    @Option(name: .long, help: "A file holding the admin secret (or set BALLAST_ADMIN_SECRET).")
    var adminSecretFile: String?

    @Option(name: .long, help: "How long to wait for the coordinator, in seconds.")
    var timeout: Double = 5

    func withCoordinator<Result: Sendable>(
        _ body: (any CoordinatorAdminEndpoint) async throws -> Result
    ) async throws -> Result {
        guard let address = PeerAddress(parsing: coordinator) else {
            throw ValidationError("--coordinator: expected \(PeerAddress.expectedForm)")
        }
        let source: SecretReference = adminSecretFile.map { .file($0) } ?? .environment("BALLAST_ADMIN_SECRET")
        let secret: SymmetricKey
        do {
            secret = SymmetricKey(data: try source.resolve())
        } catch {
            throw ValidationError("admin secret: \(error); pass --admin-secret-file or set BALLAST_ADMIN_SECRET")
        }
        var wire = FleetAPI.wireConfiguration(
            nodeID: "coordctl-\(ProcessInfo.processInfo.processIdentifier)",
            role: .admin,
            secrets: .coordinatorsOnly(secret)
        )
        wire.callTimeout = .milliseconds(Int(timeout * 1000))
        wire.dialTimeout = .milliseconds(Int(timeout * 1000))
        var quiet = Logger(label: "coordctl")
        quiet.logLevel = .critical
        let system = try WireActorSystem(configuration: wire, logger: quiet)
        do {
            let timeout = self.timeout
            let peer = try await withThrowingTaskGroup(of: WirePeerIdentity?.self) { group in
                group.addTask { try await system.connect(host: address.host, port: address.port) }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else {
                    throw ValidationError("no coordinator answered at \(address) within \(timeout) s")
                }
                return first
            }
            let endpoint = try $CoordinatorAdminEndpoint.resolve(
                id: WireActorSystem.wellKnownID(node: peer.nodeID, name: WireActorSystem.WellKnownName.coordinator),
                using: system
            )
            let result = try await body(endpoint)
            await system.shutdown()
            return result
        } catch {
            await system.shutdown()
            throw error
        }
    }
}

public struct Status: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(abstract: "Show every cluster as the coordinator sees it.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Also print the last plan's reasons.")
    var reasons = false

    public func run() async throws {
        let status = try await connection.withCoordinator { try await $0.status() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
            return
        }
        print(StatusTable.render(status, withReasons: reasons))
    }
}

/// The fleet table `coordctl status` prints: one row per cluster, columns padded to their widest cell.
public enum StatusTable {
    public static func render(_ status: FleetStatus, withReasons: Bool) -> String {
        var lines: [String] = []
        let role = status.isLeader ? "leader, epoch \(status.epoch)" : "follower"
        lines.append("coordinator \(status.coordinator) (\(role)), plan generation \(status.planGeneration)")
        let header = [
            "CLUSTER", "REGION", "ON-DEMAND", "SPOT", "PENDING", "CPU", "DESIRED", "+LAUNCH", "-DRAIN", "USD/H", "PLAN",
            "AGE",
        ]
        var rows = [header]
        for cluster in status.clusters {
            rows.append([
                cluster.cluster.rawValue,
                cluster.region,
                "\(cluster.onDemandNodes)",
                "\(cluster.spotNodes)",
                "\(cluster.pendingPods)",
                String(format: "%.0f%%", cluster.cpuUtilisation * 100),
                "\(cluster.desiredNodes)",
                "\(cluster.plannedLaunches)",
                "\(cluster.plannedDrains)",
                String(format: "%.3f", cluster.plannedUSDPerHour),
                cluster.planStatus ?? "-",
                String(format: "%.0fs", cluster.reportAgeSeconds),
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }
                .joined(separator: "  ")
            )
        }
        if status.clusters.isEmpty { lines.append("(no cluster has reported yet)") }
        if withReasons {
            for cluster in status.clusters where !cluster.reasons.isEmpty {
                lines.append("")
                lines.append("\(cluster.cluster):")
                lines.append(contentsOf: cluster.reasons.map { "  - \($0)" })
            }
            if !status.planReasons.isEmpty {
                lines.append("")
                lines.append("fleet:")
                lines.append(contentsOf: status.planReasons.map { "  - \($0)" })
            }
        }
        return lines.joined(separator: "\n")
    }
}
