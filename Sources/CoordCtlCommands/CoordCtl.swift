// CoordCtlCommands: the verbs and tables of coordctl, the operator's CLI, as a library the tests reach; the
// executable only runs `CoordCtl.main()`. It connects to a coordinator replica as an admin over the wire (HMAC
// with the admin secret) and asks it; it never bypasses the coordinators.
import ArgumentParser
import BallastConfig
import Cost
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
        discussion: """
            Talks Ballast's wire protocol to any coordinator replica with the admin secret; changes go to the leader \
            (a follower names it, and coordctl follows once). Exit codes: 0 done; 64 bad usage; 65 the coordinator \
            refused the request (the message says why); 69 no coordinator answered; 75 no leader could be reached; \
            77 the admin secret was refused; 78 the admin secret could not be read. See docs/operations.md.
            """,
        subcommands: [
            Status.self, Leader.self, Budget.self, Policy.self, Pause.self, Resume.self, Drain.self, Failover.self,
            Failback.self, Events.self, PlanPreview.self, Simulate.self,
        ]
    )
}

/// Why coordctl stopped, with the exit code scripts can branch on (documented in `coordctl --help` and
/// docs/operations.md).
public struct CoordCtlFailure: Error, CustomStringConvertible, Equatable {
    public enum Kind: Int32, Sendable {
        /// The coordinator understood and refused: an invalid value, an unknown cluster or node.
        case refused = 65
        /// No coordinator answered at the address given.
        case unavailable = 69
        /// The leader could not be reached (none known, or it did not answer).
        case noLeader = 75
        /// The coordinator refused the admin secret.
        case unauthorized = 77
        /// The admin secret could not be read.
        case configuration = 78
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
    public var exitCode: ExitCode { ExitCode(kind.rawValue) }
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

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    /// Runs `body` against the replica at `--coordinator`.
    func withCoordinator<Result: Sendable>(
        _ body: (any CoordinatorAdminEndpoint) async throws -> Result
    ) async throws -> Result {
        guard let address = PeerAddress(parsing: coordinator) else {
            throw ValidationError("--coordinator: expected \(PeerAddress.expectedForm)")
        }
        return try await withCoordinator(at: address, body)
    }

    /// Runs `body` against the leader: first the replica at `--coordinator`; if it is a follower, once more against
    /// the leader it names.
    func withLeader<Result: Sendable>(
        _ body: (any CoordinatorAdminEndpoint) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withCoordinator(body)
        } catch let error as NotLeaderError {
            guard let leader = error.leader, let address = PeerAddress(parsing: leader) else {
                throw CoordCtlFailure(.noLeader, "\(error); try again once a leader is elected (coordctl leader)")
            }
            do {
                return try await withCoordinator(at: address, body)
            } catch let again as NotLeaderError {
                throw CoordCtlFailure(.noLeader, "the leader moved again (\(again)); try again")
            } catch let failure as CoordCtlFailure where failure.kind == .unavailable {
                throw CoordCtlFailure(.noLeader, "the leader at \(leader) did not answer: \(failure.message)")
            }
        }
    }

    private func withCoordinator<Result: Sendable>(
        at address: PeerAddress,
        _ body: (any CoordinatorAdminEndpoint) async throws -> Result
    ) async throws -> Result {
        let source: SecretReference = adminSecretFile.map { .file($0) } ?? .environment("BALLAST_ADMIN_SECRET")
        let secret: SymmetricKey
        do {
            secret = SymmetricKey(data: try source.resolve())
        } catch {
            throw CoordCtlFailure(
                .configuration,
                "admin secret: \(error); pass --admin-secret-file or set BALLAST_ADMIN_SECRET"
            )
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
            let peer: WirePeerIdentity
            do {
                peer = try await withThrowingTaskGroup(of: WirePeerIdentity?.self) { group in
                    group.addTask { try await system.connect(host: address.host, port: address.port) }
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                        return nil
                    }
                    let first = try await group.next() ?? nil
                    group.cancelAll()
                    guard let first else {
                        throw CoordCtlFailure(
                            .unavailable,
                            "no coordinator answered at \(address) within \(timeout) s; is it running, and is --coordinator right?"
                        )
                    }
                    return first
                }
            } catch let error as WireConnectError where error.code == .handshakeRefused {
                throw CoordCtlFailure(
                    .unauthorized,
                    "the coordinator at \(address) refused the admin secret; check --admin-secret-file or BALLAST_ADMIN_SECRET"
                )
            } catch let error as WireConnectError {
                throw CoordCtlFailure(.unavailable, "cannot reach a coordinator at \(address): \(error)")
            }
            let endpoint = try $CoordinatorAdminEndpoint.resolve(
                id: WireActorSystem.wellKnownID(node: peer.nodeID, name: WireActorSystem.WellKnownName.coordinator),
                using: system
            )
            let result: Result
            do {
                result = try await body(endpoint)
            } catch let error as CommandRejectedError {
                throw CoordCtlFailure(.refused, error.message)
            } catch let error as WireCallError {
                throw CoordCtlFailure(.unavailable, "the coordinator at \(address) did not answer: \(error)")
            }
            await system.shutdown()
            return result
        } catch {
            await system.shutdown()
            throw error
        }
    }

    /// Prints `value` as JSON (sorted keys) when `--json` is set, else `table()`.
    func output<Value: Encodable>(_ value: Value, table: () -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        } else {
            print(table())
        }
    }
}

/// Runs a verb's work and turns a `CoordCtlFailure` into its message on standard error and its exit code.
func reportingFailures(_ work: () async throws -> Void) async throws {
    do {
        try await work()
    } catch let failure as CoordCtlFailure {
        FileHandle.standardError.write(Data("coordctl: \(failure.message)\n".utf8))
        throw failure.exitCode
    }
}

public struct Status: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(abstract: "Show every cluster as the coordinator sees it.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Also print the last plan's reasons.")
    var reasons = false

    public func run() async throws {
        try await reportingFailures {
            let status = try await connection.withCoordinator { try await $0.status() }
            try connection.output(status) { StatusTable.render(status, withReasons: reasons) }
        }
    }
}

public struct PlanPreview: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what the leader would do now, without doing it."
    )

    @OptionGroup var connection: ConnectionOptions

    public func run() async throws {
        try await reportingFailures {
            let status = try await connection.withLeader { try await $0.previewPlan() }
            try connection.output(status) { StatusTable.render(status, withReasons: true) }
        }
    }
}

public struct Leader: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(abstract: "Show which replica leads, and its epoch.")

    @OptionGroup var connection: ConnectionOptions

    public func run() async throws {
        try await reportingFailures {
            let info = try await connection.withCoordinator { try await $0.leader() }
            try connection.output(info) {
                let holder = info.holder.map { "\($0) at \(info.address ?? "?")" } ?? "nobody"
                return
                    "leader: \(holder), epoch \(info.epoch)\nasked: \(info.coordinator) (\(info.isLeader ? "leader" : "follower"))"
            }
        }
    }
}

public struct Budget: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Read or set the fleet's monthly budget.",
        subcommands: [Get.self, Set.self]
    )

    public struct Get: AsyncParsableCommand {
        public init() {}
        public static let configuration = CommandConfiguration(abstract: "Show the monthly budget in force.")

        @OptionGroup var connection: ConnectionOptions

        public func run() async throws {
            try await reportingFailures {
                let budget = try await connection.withLeader { try await $0.budget() }
                try connection.output(budget) { BudgetTable.render(budget) }
            }
        }
    }

    public struct Set: AsyncParsableCommand {
        public init() {}
        public static let configuration = CommandConfiguration(
            abstract: "Set the monthly budget: the fleet's, and optionally a region's cap.",
            discussion: "coordctl budget set 20000 --region eu-west-1=9000; --unlimited removes the budget."
        )

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The fleet's monthly budget in USD.")
        var monthlyUSD: Double?

        @Option(name: .long, help: "A region's monthly cap, REGION=USD (repeatable).")
        var region: [String] = []

        @Flag(name: .long, help: "Remove the budget: the fleet may spend without limit.")
        var unlimited = false

        public func validate() throws {
            if unlimited && (monthlyUSD != nil || !region.isEmpty) {
                throw ValidationError("--unlimited takes no amount or region")
            }
            if !unlimited && monthlyUSD == nil {
                throw ValidationError("give the monthly budget in USD, or --unlimited")
            }
            _ = try regions()
        }

        func regions() throws -> [String: Double] {
            var caps: [String: Double] = [:]
            for entry in region {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let usd = Double(parts[1]), !parts[0].isEmpty else {
                    throw ValidationError("--region \(entry): expected REGION=USD, e.g. eu-west-1=9000")
                }
                caps[String(parts[0])] = usd
            }
            return caps
        }

        public func run() async throws {
            try await reportingFailures {
                let wanted =
                    unlimited ? nil : FleetBudget(monthlyUSD: monthlyUSD ?? 0, regionalMonthlyUSD: try regions())
                let budget = try await connection.withLeader { try await $0.setBudget(wanted) }
                try connection.output(budget) { BudgetTable.render(budget) }
            }
        }
    }
}

public struct Policy: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Read or change a cluster's policy.",
        subcommands: [Get.self, Set.self]
    )

    public struct Get: AsyncParsableCommand {
        public init() {}
        public static let configuration = CommandConfiguration(abstract: "Show a cluster's policy in force.")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The cluster id.") var cluster: String

        public func run() async throws {
            try await reportingFailures {
                let policy = try await connection.withLeader { try await $0.policy(ClusterID(cluster)) }
                try connection.output(policy) { PolicyTable.render(cluster: cluster, policy) }
            }
        }
    }

    public struct Set: AsyncParsableCommand {
        public init() {}
        public static let configuration = CommandConfiguration(abstract: "Change some of a cluster's policy.")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The cluster id.") var cluster: String
        @Option(name: .long, help: "Fewest nodes.") var minNodes: Int?
        @Option(name: .long, help: "Most nodes.") var maxNodes: Int?
        @Option(name: .long, help: "Nodes kept on-demand.") var onDemandBase: Int?
        @Option(name: .long, help: "Share of the nodes above the base on spot, 0 to 1.") var spotShare: Double?
        @Option(name: .long, help: "Priority class: low, normal, high or critical.") var priority: String?
        @Option(name: .long, help: "Share of the budget within the class, relative to others (> 0).") var weight:
            Double?
        @Option(name: .long, help: "Requested over allocatable to aim for, (0, 1].") var targetUtilisation: Double?
        @Option(name: .long, help: "Largest share of the nodes draining at once, 0 to 1.") var disruptionBudget: Double?
        @Option(name: .long, help: "Most pods evicted in an hour.") var maxEvictionsPerHour: Int?
        @Option(name: .long, help: "Seconds a node must be unneeded before removal.") var scaleDownUnneeded: Int?
        @Option(name: .long, help: "Seconds after growth before any removal.") var scaleDownDelayAfterAdd: Int?
        @Option(name: .long, help: "A failover target cluster (repeatable, in order of preference).")
        var failoverTarget: [String] = []

        public func change() throws -> PolicyChange {
            var priorityClass: PriorityClass?
            if let priority {
                guard let parsed = PriorityClass.allCases.first(where: { $0.description == priority }) else {
                    throw ValidationError("--priority: expected low, normal, high or critical")
                }
                priorityClass = parsed
            }
            let change = PolicyChange(
                minNodes: minNodes,
                maxNodes: maxNodes,
                onDemandBase: onDemandBase,
                targetSpotShare: spotShare,
                priorityClass: priorityClass,
                weight: weight,
                failoverTargets: failoverTarget.isEmpty ? nil : failoverTarget.map { ClusterID($0) },
                targetUtilisation: targetUtilisation,
                disruptionBudget: disruptionBudget,
                maxEvictionsPerHour: maxEvictionsPerHour,
                scaleDownUnneededSeconds: scaleDownUnneeded,
                scaleDownDelayAfterAddSeconds: scaleDownDelayAfterAdd
            )
            guard change != PolicyChange() else { throw ValidationError("name at least one field to change") }
            return change
        }

        public func validate() throws { _ = try change() }

        public func run() async throws {
            try await reportingFailures {
                let change = try change()
                let policy = try await connection.withLeader { try await $0.updatePolicy(ClusterID(cluster), change) }
                try connection.output(policy) { PolicyTable.render(cluster: cluster, policy) }
            }
        }
    }
}

public struct Pause: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(abstract: "Stop all changes to a cluster until resumed.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The cluster id.") var cluster: String

    public func run() async throws {
        try await reportingFailures {
            let policy = try await connection.withLeader {
                try await $0.updatePolicy(ClusterID(cluster), PolicyChange(paused: true))
            }
            try connection.output(policy) { "\(cluster): paused" }
        }
    }
}

public struct Resume: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(abstract: "Let the planner change a paused cluster again.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The cluster id.") var cluster: String

    public func run() async throws {
        try await reportingFailures {
            let policy = try await connection.withLeader {
                try await $0.updatePolicy(ClusterID(cluster), PolicyChange(paused: false))
            }
            try connection.output(policy) { "\(cluster): resumed" }
        }
    }
}

public struct Drain: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Drain one node now: cordon, evict honouring PodDisruptionBudgets, terminate."
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The cluster id.") var cluster: String
    @Argument(help: "The node's name.") var node: String

    public func run() async throws {
        try await reportingFailures {
            let receipt = try await connection.withLeader { try await $0.drain(ClusterID(cluster), node: node) }
            try connection.output(receipt) {
                receipt.alreadyDraining ? "\(cluster)/\(node): already draining" : "\(cluster)/\(node): draining"
            }
        }
    }
}

public struct Failover: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Fail a region or a cluster over: its demand moves to its failover targets, within budget.",
        discussion:
            "coordctl failover eu-west-1 --to us-api; coordctl failover --cluster eu-web --to us-api; undo with failback."
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The failed region (or use --cluster).") var region: String?
    @Option(name: .long, help: "A failed cluster instead of a region.") var cluster: String?
    @Option(
        name: .customLong("to"),
        help: "A cluster to move the demand to (repeatable; default: each cluster's own targets)."
    )
    var targets: [String] = []

    public func validate() throws {
        guard (region == nil) != (cluster == nil) else { throw ValidationError("name a region or --cluster, not both") }
    }

    public func run() async throws {
        try await reportingFailures {
            let request = FailoverRequest(
                region: region,
                cluster: cluster.map { ClusterID($0) },
                targets: targets.map { ClusterID($0) }
            )
            let state = try await connection.withLeader { try await $0.failover(request) }
            try connection.output(state) { FailoverTable.render(state) }
        }
    }
}

public struct Failback: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(abstract: "End a region's or a cluster's failover.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The region to fail back (or use --cluster).") var region: String?
    @Option(name: .long, help: "A cluster instead of a region.") var cluster: String?

    public func validate() throws {
        guard (region == nil) != (cluster == nil) else { throw ValidationError("name a region or --cluster, not both") }
    }

    public func run() async throws {
        try await reportingFailures {
            let request = FailoverRequest(region: region, cluster: cluster.map { ClusterID($0) })
            let state = try await connection.withLeader { try await $0.failback(request) }
            try connection.output(state) { FailoverTable.render(state) }
        }
    }
}

/// `coordctl failover` and `failback` output.
public enum FailoverTable {
    public static func render(_ state: FailoverState) -> String {
        if state.failedRegions.isEmpty && state.failedClusters.isEmpty { return "nothing is failed over" }
        return
            (state.failedRegions.map { "region \($0): failed over" }
            + state.failedClusters.map { "cluster \($0): failed over" }).joined(separator: "\n")
    }
}

public struct Events: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(abstract: "Show the leader's decisions, with reasons.")

    @OptionGroup var connection: ConnectionOptions
    @Option(name: .long, help: "Only this cluster's events.") var cluster: String?
    @Option(name: .long, help: "How many of the newest events to show.") var limit: Int = 50
    @Flag(name: .long, help: "Keep printing new events as they come (Ctrl-C stops).") var follow = false
    @Option(name: .long, help: "With --follow, how often to ask, in seconds.") var interval: Double = 2

    public func run() async throws {
        try await reportingFailures {
            var after: UInt64 = 0
            var first = true
            repeat {
                let entries = try await connection.withCoordinator {
                    try await $0.events(
                        after: after,
                        cluster: cluster.map { ClusterID($0) },
                        limit: first ? limit : 2_000
                    )
                }
                if connection.json {
                    try connection.output(entries) { "" }
                } else {
                    for entry in entries { print(EventsTable.line(entry)) }
                }
                after = entries.last?.sequence ?? after
                first = false
                if follow { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            } while follow
        }
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

/// `coordctl budget` output.
public enum BudgetTable {
    public static func render(_ budget: FleetBudget?) -> String {
        guard let budget else { return "budget: unlimited" }
        var lines = ["fleet: \(String(format: "%.2f", budget.monthlyUSD)) USD a month"]
        for (region, usd) in budget.regionalMonthlyUSD.sorted(by: { $0.key < $1.key }) {
            lines.append("\(region): \(String(format: "%.2f", usd)) USD a month")
        }
        return lines.joined(separator: "\n")
    }
}

/// `coordctl policy` output.
public enum PolicyTable {
    public static func render(cluster: String, _ policy: ClusterPolicy) -> String {
        [
            "cluster: \(cluster)\(policy.paused ? " (paused)" : "")",
            "min-nodes: \(policy.minNodes)",
            "max-nodes: \(policy.maxNodes)",
            "on-demand-base: \(policy.onDemandBase)",
            "spot-share: \(policy.targetSpotShare)",
            "priority: \(policy.priorityClass)",
            "weight: \(policy.weight)",
            "failover-targets: \(policy.failoverTargets.isEmpty ? "none" : policy.failoverTargets.map(\.rawValue).joined(separator: ", "))",
            "target-utilisation: \(policy.targetUtilisation)",
            "disruption-budget: \(policy.disruptionBudget)",
            "max-evictions-per-hour: \(policy.maxEvictionsPerHour)",
            "scale-down-unneeded: \(policy.scaleDownUnneeded)",
            "scale-down-delay-after-add: \(policy.scaleDownDelayAfterAdd)",
            "instance-types: \(policy.allowedInstanceTypes.isEmpty ? "any" : policy.allowedInstanceTypes.joined(separator: ", "))",
        ].joined(separator: "\n")
    }
}

/// `coordctl events` output: one line an event.
public enum EventsTable {
    public static func line(_ entry: JournalEntry) -> String {
        "#\(entry.sequence) \(entry.time) epoch \(entry.epoch) \(entry.cluster?.rawValue ?? "fleet") \(entry.kind): \(entry.message)"
    }
}
