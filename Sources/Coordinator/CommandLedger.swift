import Clocks
import Cost
import FleetAPI

/// What the leader has asked of the agents and not yet seen done: launches in flight (by token), drains under
/// way (by node) and orphan terminations (by instance), with the orphans the reports confirmed. Pure bookkeeping, no I/O: the command service records what it sends and what comes back, and the
/// planner sees the fleet through `overlay(_:)`, so capacity that is booting counts as capacity and a node that is
/// draining is not drained twice.
///
/// Promise: a launch is counted once from the moment it is sent until its instances appear in the cluster's report
/// (or it fails, or `launchGrace` passes); a drain is sent once per node until the node is gone from the report or
/// its deadline and `drainGrace` have passed, after which it is reported stuck, never silently resent; an orphan is
/// confirmed only when two reports in a row name it, and its termination is asked for once while they do.
public struct CommandLedger: Sendable {
    /// How long a launch may stay unseen in the reports before it no longer counts (the Cluster Autoscaler's
    /// max-node-provision-time). Default 15 min.
    public var launchGrace: Duration
    /// How long past its deadline a drain may go unfinished before it is reported stuck. Default 2 min.
    public var drainGrace: Duration

    public struct Launch: Sendable, Hashable {
        /// The command as sent, to send again unchanged (same token) while it is unconfirmed.
        public var command: LaunchCommand
        /// The agent answered; until then the command is resent as it was each round.
        public var confirmed: Bool
        public var cluster: ClusterID
        public var group: NodeGroup
        public var count: Int
        public var token: LaunchToken
        public var sentAt: FleetInstant
        /// The wall time it was sent, the launch time of its nodes until they are reported.
        public var sentAtTime: Timestamp
        /// The instances the agent reported for the token; empty until it answers.
        public var instanceIDs: [String]
    }

    public struct Drain: Sendable, Hashable {
        public var command: DrainCommand
        public var confirmed: Bool
        public var cluster: ClusterID
        public var nodeName: String
        public var sentAt: FleetInstant
        public var deadline: FleetInstant
        public var stuck: Bool
    }

    public private(set) var launches: [LaunchToken: Launch] = [:]
    public private(set) var drains: [String: Drain] = [:]
    /// Per cluster, the orphans its last two reports (in order of observation) both named: the instances the leader
    /// may ask the agent to terminate. Kept on every replica, so a new leader acts on them at once.
    public private(set) var confirmedOrphans: [ClusterID: [String]] = [:]
    /// Orphan terminations sent and not yet seen done (by cluster and instance): not sent again until the instance
    /// leaves the reports' orphans, or the send failed.
    public private(set) var orphanTerminations: Set<String> = []

    public init(launchGrace: Duration = .seconds(900), drainGrace: Duration = .seconds(120)) {
        self.launchGrace = launchGrace
        self.drainGrace = drainGrace
    }

    /// Whether a launch with this token was already sent (a resend of the same plan sends nothing new).
    public func hasLaunch(_ token: LaunchToken) -> Bool { launches[token] != nil }

    /// Whether a drain of this node is under way.
    public func isDraining(_ nodeName: String, in cluster: ClusterID) -> Bool {
        drains[Self.key(cluster, nodeName)] != nil
    }

    public mutating func launchSent(_ command: LaunchCommand, at now: FleetInstant, time: Timestamp) {
        launches[command.token] = Launch(
            command: command,
            confirmed: false,
            cluster: command.cluster,
            group: NodeGroup(
                instanceType: command.instanceType,
                market: command.market,
                availabilityZone: command.availabilityZone
            ),
            count: command.count,
            token: command.token,
            sentAt: now,
            sentAtTime: time,
            instanceIDs: []
        )
    }

    public mutating func launchAccepted(_ receipt: LaunchReceipt) {
        launches[receipt.token]?.instanceIDs = receipt.instanceIDs
        launches[receipt.token]?.confirmed = true
    }

    /// Launches and drains sent under `epoch` that no agent has answered yet (the reply was lost, the agent was
    /// unreachable): the leader sends them again, unchanged, so an agent that did execute them does nothing twice.
    public func unconfirmed(under epoch: FencingEpoch) -> (launches: [LaunchCommand], drains: [DrainCommand]) {
        (
            launches.values.filter { !$0.confirmed && $0.command.stamp.epoch == epoch }.map(\.command)
                .sorted { $0.token.rawValue < $1.token.rawValue },
            drains.values.filter { !$0.confirmed && $0.command.stamp.epoch == epoch }.map(\.command)
                .sorted { ($0.cluster, $0.nodeName) < ($1.cluster, $1.nodeName) }
        )
    }

    /// The agent refused or failed the launch: it no longer counts (the report carries the failure).
    public mutating func launchFailed(_ token: LaunchToken) {
        launches[token] = nil
    }

    public mutating func drainSent(_ command: DrainCommand, at now: FleetInstant) {
        drains[Self.key(command.cluster, command.nodeName)] = Drain(
            command: command,
            confirmed: false,
            cluster: command.cluster,
            nodeName: command.nodeName,
            sentAt: now,
            deadline: now.advanced(by: .seconds(command.deadlineSeconds)),
            stuck: false
        )
    }

    public mutating func drainAccepted(cluster: ClusterID, nodeName: String) {
        drains[Self.key(cluster, nodeName)]?.confirmed = true
    }

    public mutating func drainFailed(cluster: ClusterID, nodeName: String) {
        drains[Self.key(cluster, nodeName)] = nil
    }

    /// What a new report settles: launches whose instances it shows are done; drains of nodes it no longer shows
    /// are done. Returns the drains that became stuck at `now` (past deadline + grace, node still there), once each.
    public mutating func reconcile(with report: ClusterReport, at now: FleetInstant) -> [Drain] {
        let present = Set(report.nodes.map(\.instanceID))
        let names = Set(report.nodes.map(\.name))
        for (token, launch) in launches where launch.cluster == report.clusterID {
            let seen = !launch.instanceIDs.isEmpty && launch.instanceIDs.allSatisfy(present.contains)
            if seen || launch.sentAt.duration(to: now) > launchGrace { launches[token] = nil }
        }
        var newlyStuck: [Drain] = []
        for (key, drain) in drains where drain.cluster == report.clusterID {
            if !names.contains(drain.nodeName) {
                drains[key] = nil
            } else if !drain.stuck, now > drain.deadline.advanced(by: drainGrace) {
                drains[key]?.stuck = true
                newlyStuck.append(drains[key]!)
            }
        }
        return newlyStuck
    }

    /// The report as the planner should see it: each launch in flight whose instances the report does not show yet
    /// becomes `count` launching nodes of its group (with the catalog's allocatable for the type), an instance the
    /// report shows booting counts with that allocatable too, and every node with a drain under way is draining (so
    /// it is neither counted nor drained again).
    public func overlay(_ report: ClusterReport, catalog: PriceCatalog) -> ClusterReport {
        var report = report
        let present = Set(report.nodes.map(\.instanceID))
        for launch in launches.values.sorted(by: { $0.token.rawValue < $1.token.rawValue })
        where launch.cluster == report.clusterID {
            // Before the agent answers, the launch's nodes have no ids yet.
            let missing: [String] =
                launch.instanceIDs.isEmpty
                ? Array(repeating: "", count: launch.count) : launch.instanceIDs.filter { !present.contains($0) }
            guard !missing.isEmpty else { continue }
            let allocatable =
                catalog.instanceTypes(in: report.region).first { $0.name == launch.group.instanceType }?
                .estimatedAllocatable ?? .zero
            for (index, instanceID) in missing.enumerated() {
                report.nodes.append(
                    NodeReport(
                        name: "launching-\(launch.token.rawValue)-\(index)",
                        instanceID: instanceID,
                        instanceType: launch.group.instanceType,
                        market: launch.group.market,
                        availabilityZone: launch.group.availabilityZone,
                        state: .launching,
                        launchedAt: launch.sentAtTime,
                        allocatable: allocatable,
                        requested: .zero,
                        podCount: 0
                    )
                )
            }
        }
        // An instance still booting has no node yet, so its report carries no allocatable: it counts with the
        // catalog's estimate for its type, or the planner would launch again for capacity already on its way.
        for index in report.nodes.indices
        where report.nodes[index].state == .launching && report.nodes[index].allocatable.isZero {
            let type = report.nodes[index].instanceType
            report.nodes[index].allocatable =
                catalog.instanceTypes(in: report.region).first { $0.name == type }?.estimatedAllocatable ?? .zero
        }
        for index in report.nodes.indices where drains[Self.key(report.clusterID, report.nodes[index].name)] != nil {
            if report.nodes[index].isActive { report.nodes[index].state = .draining }
        }
        return report
    }

    /// What a new report says of orphans: an instance named by this report and by the one before it (observed
    /// earlier) is confirmed; a termination sent for an instance the report no longer names is done.
    public mutating func observeOrphans(in report: ClusterReport, after previous: ClusterReport?) {
        let named = Set(report.orphans)
        if let previous, previous.observedAt < report.observedAt {
            confirmedOrphans[report.clusterID] = previous.orphans.filter(named.contains).sorted()
        } else if previous == nil {
            confirmedOrphans[report.clusterID] = []
        }
        // A report at the same instant as the one before confirms nothing new, and forgets nothing either.
        for key in orphanTerminations where key.hasPrefix(report.clusterID.rawValue + "\u{0}") {
            if !named.contains(String(key.dropFirst(report.clusterID.rawValue.count + 1))) {
                orphanTerminations.remove(key)
            }
        }
        if confirmedOrphans[report.clusterID]?.isEmpty == true { confirmedOrphans[report.clusterID] = nil }
    }

    /// The confirmed orphans of `cluster` no termination has been sent for yet, sorted.
    public func orphansToTerminate(in cluster: ClusterID) -> [String] {
        (confirmedOrphans[cluster] ?? []).filter { !orphanTerminations.contains(Self.key(cluster, $0)) }
    }

    /// The termination of these orphans was sent: they are not asked for again while the reports name them.
    public mutating func orphanTerminationSent(_ command: TerminateOrphansCommand) {
        for instanceID in command.instanceIDs { orphanTerminations.insert(Self.key(command.cluster, instanceID)) }
    }

    /// The termination did not reach the agent (or was not sent): asked for again next round if still confirmed.
    public mutating func orphanTerminationFailed(_ command: TerminateOrphansCommand) {
        for instanceID in command.instanceIDs { orphanTerminations.remove(Self.key(command.cluster, instanceID)) }
    }

    private static func key(_ cluster: ClusterID, _ node: String) -> String { cluster.rawValue + "\u{0}" + node }
}
