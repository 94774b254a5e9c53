import Clocks
import Cost
import Distributed
import FleetAPI
import Logging
import Wire

/// One coordinator replica's actor: it takes every agent's reports, keeps the fleet registry warm, plans on the
/// planner's schedule and answers the operator's status queries.
///
/// Promise: it never calls EC2 or Kubernetes itself; whatever it decides reaches a cluster only as a command to
/// that cluster's agent, stamped with the leader's epoch.
public distributed actor CoordinatorActor: CoordinatorEndpoint, CoordinatorAdminEndpoint {
    public typealias ActorSystem = WireActorSystem

    /// The clusters, policies, budget and timings this replica plans with.
    public struct Settings: Sendable {
        public var clusters: [ClusterID: (region: String, policy: ClusterPolicy)]
        public var budget: FleetBudget?
        public var planner: PlannerSettings
        public var catalog: PriceCatalog
        /// How long an agent may try to drain a node before it gives up and leaves it cordoned. Default 10 min.
        public var drainDeadline: Duration

        public init(
            clusters: [ClusterID: (region: String, policy: ClusterPolicy)],
            budget: FleetBudget?,
            planner: PlannerSettings,
            catalog: PriceCatalog,
            drainDeadline: Duration = .seconds(600)
        ) {
            self.clusters = clusters
            self.budget = budget
            self.planner = planner
            self.catalog = catalog
            self.drainDeadline = drainDeadline
        }
    }

    let settings: Settings
    /// Measures report ages (monotonic) and stamps budgets and plans (wall time).
    let clock: any FleetClock
    /// Whether this replica may act now, and under which epoch.
    let leadership: any Leadership
    /// Where the operator's changes and the journal persist, fenced by epoch.
    let stateStore: any FleetStateStore
    /// Who hears about what the leader does (Slack, or nobody).
    let notifier: any Notifier
    /// Asks for a leader's round now (a report that matters arrived), without waiting for the next interval.
    let requestRound: @Sendable () -> Void
    /// Interruption notices already told (by cluster, node and time), and clusters already told lost.
    var toldNotices: Set<String> = []
    var toldLost: Set<ClusterID> = []
    let logger: Logger
    var registry = FleetRegistry<FleetInstant>()
    var ledger = SpendLedger()
    var spotPrices = SpotPriceCache()
    private var plannerState = PlannerState()
    private var lastPlan: FleetPlan?
    /// Commands sent and not yet seen done; the planner sees the fleet through it.
    public internal(set) var commands = CommandLedger()
    /// The operator's changes over the configuration, as last read from or written to the store.
    var durable = DurableFleetState()
    /// The decision journal, newest last (bounded); `unsavedJournal` is what the leader has not yet stored.
    var journal: [JournalEntry] = []
    var unsavedJournal: [JournalEntry] = []
    /// The epoch this replica last acted under: a new one means it has just taken over.
    var actedUnder: FencingEpoch?
    var metrics = CoordinatorMetrics()
    /// Each cluster's demand profile, learnt from its reports on every replica (so a new leader forecasts at
    /// once), stored by the leader when an hour of it is complete.
    var forecasters: [ClusterID: ClusterDemandForecaster] = [:]
    /// The hour whose forecasters the leader stored last.
    var forecastersStoredForHour: Int64?
    /// When the leader last stored the spend ledger, and what it stored.
    var spendStoredAt: Timestamp?
    var spendStored: SpendLedger.Snapshot?
    /// When this replica started, on its clock: a follower is ready once every cluster has reported or has been
    /// silent for `clusterLostAfter` since then.
    let startedAt: FleetInstant

    /// - Parameter clock: report ages are measured on its monotonic time, budgets and plans stamped with its wall
    ///   time (`SystemClock` in production, a `ManualClock` in the simulator and the tests).
    /// - Parameter leadership: the lease's say on whether this replica leads (`LeaderElection`), or
    ///   `NeverLeading()` for a replica that runs no election.
    /// - Parameter stateStore: the operator's changes and the journal (`LeaseBackedStateStore` on the lease's store
    ///   in production).
    public init(
        actorSystem: WireActorSystem,
        settings: Settings,
        clock: any FleetClock,
        leadership: any Leadership,
        stateStore: any FleetStateStore = InMemoryFleetStateStore(),
        notifier: any Notifier = NoNotifier(),
        requestRound: @escaping @Sendable () -> Void = {},
        logger: Logger
    ) {
        self.notifier = notifier
        self.requestRound = requestRound
        self.actorSystem = actorSystem
        self.settings = settings
        self.clock = clock
        self.leadership = leadership
        self.stateStore = stateStore
        self.startedAt = clock.now
        self.logger = logger
    }

    // MARK: CoordinatorEndpoint

    public distributed func report(_ agentReport: AgentReport) async throws -> ReportAcknowledgement {
        let report = agentReport.cluster
        guard settings.clusters[report.clusterID] != nil else {
            throw CommandRejectedError(.wrongCluster, "cluster \(report.clusterID) is not managed by this fleet")
        }
        // An agent reports for its own cluster only: the node id it authenticated with is its cluster id.
        if let caller = WireActorSystem.caller, caller.role == .agent, caller.nodeID != report.clusterID.rawValue {
            logger.warning(
                "report refused: agent reported for another cluster",
                metadata: ["ballast.peer": "\(caller.nodeID)", "ballast.cluster": "\(report.clusterID)"]
            )
            throw CommandRejectedError(
                .identityMismatch,
                "agent \(caller.nodeID) may report only for its own cluster, not \(report.clusterID)"
            )
        }
        let now = clock.now
        let previous = registry.entries[report.clusterID]?.report
        if registry.record(report, at: now) {
            if leadership.actingEpoch() != nil, Self.matters(report, after: previous) { requestRound() }
            commands.observeOrphans(in: report, after: previous)
            ledger.record(report, catalog: settings.catalog, spotPrices: spotPrices)
            forecasters[report.clusterID, default: ClusterDemandForecaster()].observe(report)
            for drain in commands.reconcile(with: report, at: now) {
                logger.error(
                    "drain stuck: the node is still there past its deadline; not resent",
                    metadata: ["ballast.cluster": "\(drain.cluster)", "node": "\(drain.nodeName)"]
                )
                if let epoch = leadership.actingEpoch() {
                    record(
                        "stuck-drain",
                        cluster: drain.cluster,
                        "\(drain.nodeName) still there past its deadline",
                        epoch: epoch
                    )
                }
            }
        }
        let epoch = leadership.actingEpoch()
        return ReportAcknowledgement(coordinator: actorSystem.nodeID, isLeader: epoch != nil, epoch: epoch ?? .none)
    }

    // MARK: CoordinatorAdminEndpoint

    public distributed func status() async throws -> FleetStatus {
        status(with: lastPlan)
    }

    /// The fleet table for `plan`: every cluster's last report, and what `plan` wants of it.
    func status(with lastPlan: FleetPlan?) -> FleetStatus {
        let now = clock.now
        let acting = leadership.actingEpoch()
        let plans = Dictionary(
            (lastPlan?.clusters ?? []).map { ($0.cluster, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let rows = registry.entries.keys.sorted().compactMap { id -> ClusterStatus? in
            guard let entry = registry.entries[id] else { return nil }
            let report = entry.report
            let active = report.nodes.filter(\.isActive)
            let plan = plans[id]
            return ClusterStatus(
                cluster: id,
                region: report.region,
                reportAgeSeconds: (now - entry.receivedAt).seconds,
                onDemandNodes: active.filter { $0.market == .onDemand }.count,
                spotNodes: active.filter { $0.market == .spot }.count,
                readyNodes: active.filter { $0.state == .ready }.count,
                pendingPods: report.pending.count,
                cpuUtilisation: report.utilisation.cpu,
                desiredNodes: plan.map { $0.keptNodeCount + $0.launches.reduce(0) { $0 + $1.count } } ?? active.count,
                plannedLaunches: plan?.launches.reduce(0) { $0 + $1.count } ?? 0,
                plannedDrains: plan?.drains.count ?? 0,
                plannedUSDPerHour: plan?.plannedUSDPerHour ?? 0,
                planStatus: plan?.status.rawValue,
                reasons: plan.map { plan in plan.launches.map(\.reason) + plan.drains.map(\.reason) } ?? []
            )
        }
        return FleetStatus(
            coordinator: actorSystem.nodeID,
            isLeader: acting != nil,
            epoch: acting ?? .none,
            planGeneration: lastPlan?.generation ?? 0,
            clusters: rows,
            planReasons: lastPlan?.reasons ?? []
        )
    }

    // MARK: Planning

    /// Plans once from the registry as it stands and keeps the plan for `status`; returns it. Logs one line per
    /// decision with its reason.
    @discardableResult
    public func plan() -> FleetPlan {
        let plan = FleetPlanner(settings: settings.planner).plan(plannerInput(), state: &plannerState)
        lastPlan = plan
        log(plan)
        recordMetrics(plan)
        return plan
    }

    /// What a plan made now would say, leaving the planner's state and the last plan as they are.
    func previewedPlan() -> FleetPlan {
        var scratch = plannerState
        return FleetPlanner(settings: settings.planner).plan(plannerInput(), state: &scratch)
    }

    /// A report that should not wait for the next planning interval (SYSTEM.md §2): more pods pending than the
    /// last report said, a node gone or no longer Ready, or an interruption notice not seen before.
    static func matters(_ report: ClusterReport, after previous: ClusterReport?) -> Bool {
        guard let previous else { return report.pending.count > 0 || !report.notices.isEmpty }
        if report.pending.count > previous.pending.count { return true }
        let ready = Set(report.nodes.filter { $0.state == .ready }.map(\.name))
        if previous.nodes.contains(where: { $0.state == .ready && !ready.contains($0.name) }) { return true }
        let seen = Set(previous.notices.map { "\($0.nodeName)/\($0.receivedAt.millisecondsSinceEpoch)" })
        return report.notices.contains { !seen.contains("\($0.nodeName)/\($0.receivedAt.millisecondsSinceEpoch)") }
    }

    /// Each cluster's demand one lead time ahead: its agent's measured launch-to-Ready p90, or
    /// `defaultLeadTime` until it has measured one (SYSTEM.md §2 rule 1).
    func forecasts(at now: Timestamp) -> [ClusterID: Resources] {
        var forecasts: [ClusterID: Resources] = [:]
        for (cluster, forecaster) in forecasters {
            let leadTime = registry.entries[cluster]?.report.launchToReadyP90 ?? Self.defaultLeadTime
            if let forecast = forecaster.forecast(now: now, leadTime: leadTime) { forecasts[cluster] = forecast }
        }
        return forecasts
    }

    /// The lead time of a cluster whose agent has not measured one yet (EC2's usual launch to Ready).
    static let defaultLeadTime: Duration = .seconds(180)

    /// The generation of the last plan (0 before the first).
    var lastPlanGeneration: UInt64 { lastPlan?.generation ?? 0 }

    private func plannerInput() -> PlannerInput {
        let now = clock.timestamp
        let allowance = effectiveBudget.map { ledger.allowance(budget: $0, at: now) } ?? .unlimited
        return PlannerInput(
            reports: registry.reports.map { commands.overlay($0, catalog: settings.catalog) },
            policies: Dictionary(uniqueKeysWithValues: settings.clusters.keys.map { ($0, effectivePolicy($0)) }),
            allowance: allowance,
            catalog: settings.catalog,
            spotPrices: spotPrices,
            interruptionRisk: plannerState.measuredInterruptionRisk(now: now, settings: settings.planner),
            forecasts: forecasts(at: now),
            failedRegions: durable.failedRegions,
            failedClusters: Set(durable.failedClusters.map { ClusterID($0) }),
            now: now
        )
    }

    private func log(_ plan: FleetPlan) {
        for launch in plan.launches {
            logger.info(
                "plan: launch",
                metadata: [
                    "ballast.cluster": "\(launch.cluster)", "ballast.generation": "\(plan.generation)",
                    "count": "\(launch.count)", "pool": "\(launch.group)", "reason": "\(launch.reason)",
                ]
            )
        }
        for drain in plan.drains {
            logger.info(
                "plan: drain",
                metadata: [
                    "ballast.cluster": "\(drain.cluster)", "ballast.generation": "\(plan.generation)",
                    "node": "\(drain.nodeName)", "reason": "\(drain.reason)",
                ]
            )
        }
        for reason in plan.reasons {
            logger.notice("plan: fleet", metadata: ["ballast.generation": "\(plan.generation)", "reason": "\(reason)"])
        }
    }
}

extension CoordinatorActor {
    /// One leader's round: plans when this replica leads and sends the plan's commands, each stamped with the
    /// lease's epoch and the plan's generation; does nothing on a follower (it keeps its state warm from the
    /// reports). Returns the plan, or nil when not leading.
    @discardableResult
    public func planAndCommand() async -> FleetPlan? {
        guard let epoch = leadership.actingEpoch() else {
            actedUnder = nil
            await refreshDurableState()  // A follower keeps the operator's changes warm for when it leads.
            recordMetrics(nil)
            return nil
        }
        if actedUnder != epoch {
            // Taking over: what the previous leader stored is the truth from here on.
            await refreshDurableState()
            actedUnder = epoch
            record("leader", cluster: nil, "\(actorSystem.nodeID) leads under epoch \(epoch)", epoch: epoch)
        }
        let started = clock.now
        noteFleetEvents(epoch: epoch)
        let plan = plan()
        await sendCommands(for: plan, epoch: epoch)
        await terminateConfirmedOrphans(generation: plan.generation, epoch: epoch)
        await saveJournal(epoch: epoch)
        await saveForecasters(epoch: epoch)
        await saveSpend(epoch: epoch)
        metrics.record(planDuration: clock.now - started)
        return plan
    }

    /// Journals (and so notifies) what the reports and the ledger say since the last round: budget thresholds
    /// crossed, interruption notices, clusters lost and back.
    func noteFleetEvents(epoch: FencingEpoch) {
        if let budget = effectiveBudget {
            for alert in ledger.newAlerts(budget: budget, at: clock.timestamp) {
                record("budget-alert", cluster: nil, "\(alert)", epoch: epoch)
            }
        }
        let now = clock.now
        for (cluster, entry) in registry.entries.sorted(by: { $0.key < $1.key }) {
            for notice in entry.report.notices {
                let key = "\(cluster)/\(notice.nodeName)/\(notice.receivedAt.millisecondsSinceEpoch)"
                guard toldNotices.insert(key).inserted else { continue }
                record(
                    "interruption",
                    cluster: cluster,
                    "\(notice.kind.rawValue) for \(notice.nodeName) (\(notice.instanceType) in \(notice.availabilityZone))",
                    epoch: epoch
                )
            }
        }
        if toldNotices.count > 10_000 { toldNotices.removeAll() }
        let lost = Set(registry.silentClusters(at: now, lostAfter: settings.planner.clusterLostAfter))
        for cluster in lost.subtracting(toldLost).sorted() {
            let targets = effectivePolicy(cluster).failoverTargets.map(\.rawValue)
            record(
                "cluster-lost",
                cluster: cluster,
                "no report for \(settings.planner.clusterLostAfter); its demand goes to \(targets.isEmpty ? "no failover target" : targets.joined(separator: ", "))",
                epoch: epoch
            )
        }
        for cluster in toldLost.subtracting(lost).sorted() {
            record("cluster-back", cluster: cluster, "reports again", epoch: epoch)
        }
        toldLost = lost
    }

    /// Sets the gauges from `plan` and the ledger (every replica: a follower's spend figures are as warm).
    func recordMetrics(_ plan: FleetPlan?) {
        let regions = settings.clusters.mapValues(\.region)
        let now = clock.now
        if let plan {
            let lost = Set(registry.silentClusters(at: now, lostAfter: settings.planner.clusterLostAfter))
            metrics.record(plan: plan, lost: lost, clusters: regions)
        }
        metrics.record(spend: ledger, budget: effectiveBudget, clusters: regions, at: clock.timestamp)
        metrics.record(
            connectedAgents: actorSystem.connectedPeers.filter { settings.clusters[ClusterID($0)] != nil }.count
        )
    }

    /// Ready to serve: the leader always; a follower once every cluster has reported to it, or has been silent
    /// for `clusterLostAfter` since it started (then it is lost to the leader too).
    public func readiness() -> (ready: Bool, reason: String) {
        if let epoch = leadership.actingEpoch() { return (true, "leader under epoch \(epoch)") }
        let missing = settings.clusters.keys.filter { registry.entries[$0] == nil }.map(\.rawValue).sorted()
        if missing.isEmpty { return (true, "follower with reports from every cluster") }
        if clock.now - startedAt >= settings.planner.clusterLostAfter {
            return (true, "follower; no report yet from \(missing.joined(separator: ", ")) (lost)")
        }
        return (false, "follower waiting for reports from \(missing.joined(separator: ", "))")
    }

    /// Sends the commands of `plan` under `epoch`: per cluster in order, clusters in parallel. Launch tokens come
    /// from (cluster, epoch, generation, slot), so a resend never launches twice; a drain already under way is
    /// not sent again.
    public func sendCommands(for plan: FleetPlan, epoch: FencingEpoch) async {
        let stamp = CommandStamp(epoch: epoch, generation: plan.generation, leader: actorSystem.nodeID)
        var work: [(ClusterID, [LaunchCommand], [DrainCommand])] = []
        for cluster in plan.clusters where cluster.status == .planned {
            let launches = cluster.launches.enumerated().map { slot, order in
                LaunchCommand(
                    stamp: stamp,
                    cluster: cluster.cluster,
                    instanceType: order.group.instanceType,
                    market: order.group.market,
                    availabilityZone: order.group.availabilityZone,
                    count: order.count,
                    token: LaunchToken.derive(
                        cluster: cluster.cluster,
                        epoch: epoch,
                        generation: plan.generation,
                        slot: slot
                    ),
                    reason: order.reason
                )
            }.filter { !commands.hasLaunch($0.token) }
            let drains = cluster.drains.filter { !commands.isDraining($0.nodeName, in: cluster.cluster) }.map {
                DrainCommand(
                    stamp: stamp,
                    cluster: cluster.cluster,
                    nodeName: $0.nodeName,
                    deadlineSeconds: Int(settings.drainDeadline.components.seconds),
                    reason: $0.reason
                )
            }
            guard !launches.isEmpty || !drains.isEmpty else { continue }
            // Counted as in flight before the first byte leaves, so a plan made meanwhile does not ask again.
            let now = clock.now
            let time = clock.timestamp
            for launch in launches { commands.launchSent(launch, at: now, time: time) }
            for drain in drains { commands.drainSent(drain, at: now) }
            work.append((cluster.cluster, launches, drains))
        }
        // What an agent has not answered yet goes again, unchanged (the same token, the same node).
        let unanswered = commands.unconfirmed(under: epoch)
        let alreadyQueued = Set(work.flatMap { $0.1.map(\.token) })
        for launch in unanswered.launches where !alreadyQueued.contains(launch.token) {
            work.append((launch.cluster, [launch], []))
        }
        for drain in unanswered.drains where !work.contains(where: { $0.2.contains(drain) }) {
            work.append((drain.cluster, [], [drain]))
        }
        guard !work.isEmpty else { return }
        let sender = CommandSender(system: actorSystem, leadership: leadership, clock: clock, logger: logger)
        enum Result: Sendable {
            case launch(LaunchCommand, CommandSender.Outcome<LaunchReceipt>)
            case drain(DrainCommand, CommandSender.Outcome<DrainReceipt>)
        }
        await withTaskGroup(of: [Result].self) { group in
            for (_, launches, drains) in work {
                group.addTask {
                    var results: [Result] = []
                    for launch in launches { results.append(.launch(launch, await sender.send(launch))) }
                    for drain in drains { results.append(.drain(drain, await sender.send(drain))) }
                    return results
                }
            }
            for await results in group {
                for result in results {
                    switch result {
                    case .launch(let command, .accepted(let receipt)):
                        commands.launchAccepted(receipt)
                        record(
                            "launch",
                            cluster: command.cluster,
                            command.reason,
                            epoch: epoch
                        )
                    case .launch(let command, .refused(let code, let message)):
                        commands.launchFailed(command.token)
                        record(
                            "refused",
                            cluster: command.cluster,
                            "launch \(command.token) refused (\(code)): \(message)",
                            epoch: epoch
                        )
                    case .launch(_, .unreachable):
                        break  // It may have launched: it keeps counting and goes again, unchanged, next round.
                    case .launch(let command, _):
                        // Refused, failed or not sent: it does not count; the next plan decides again (a capacity
                        // failure reaches the planner through the agent's report).
                        commands.launchFailed(command.token)
                    case .drain(let command, .accepted):
                        commands.drainAccepted(cluster: command.cluster, nodeName: command.nodeName)
                        record(
                            "drain",
                            cluster: command.cluster,
                            "\(command.nodeName): \(command.reason)",
                            epoch: epoch
                        )
                    case .drain(let command, .refused(let code, let message)):
                        commands.drainFailed(cluster: command.cluster, nodeName: command.nodeName)
                        record(
                            "refused",
                            cluster: command.cluster,
                            "drain \(command.nodeName) refused (\(code)): \(message)",
                            epoch: epoch
                        )
                    case .drain(_, .unreachable):
                        break
                    case .drain(let command, _):
                        commands.drainFailed(cluster: command.cluster, nodeName: command.nodeName)
                    }
                }
            }
        }
    }
}

extension CoordinatorActor {
    /// Asks each cluster's agent to terminate the orphans two of its reports in a row named (SYSTEM.md §6: an
    /// instance that never became a node costs money and serves nothing), stamped like the plan's commands. The
    /// agent checks each again and keeps any that became a node; the journal says what was terminated and kept.
    public func terminateConfirmedOrphans(generation: UInt64, epoch: FencingEpoch) async {
        let stamp = CommandStamp(epoch: epoch, generation: generation, leader: actorSystem.nodeID)
        var work: [TerminateOrphansCommand] = []
        for cluster in settings.clusters.keys.sorted() where !effectivePolicy(cluster).paused {
            let orphans = commands.orphansToTerminate(in: cluster)
            guard !orphans.isEmpty else { continue }
            let command = TerminateOrphansCommand(
                stamp: stamp,
                cluster: cluster,
                instanceIDs: orphans,
                reason: "no Ready node in two reports in a row"
            )
            commands.orphanTerminationSent(command)
            work.append(command)
        }
        guard !work.isEmpty else { return }
        let sender = CommandSender(system: actorSystem, leadership: leadership, clock: clock, logger: logger)
        await withTaskGroup(of: (TerminateOrphansCommand, CommandSender.Outcome<OrphanTerminationReceipt>).self) {
            group in
            for command in work { group.addTask { (command, await sender.send(command)) } }
            for await (command, outcome) in group {
                switch outcome {
                case .accepted(let receipt):
                    var message =
                        "terminated \(receipt.terminated.isEmpty ? "none" : receipt.terminated.joined(separator: ", ")): \(command.reason)"
                    if !receipt.gone.isEmpty { message += "; already gone " + receipt.gone.joined(separator: ", ") }
                    if !receipt.kept.isEmpty {
                        message +=
                            "; kept " + receipt.kept.map { "\($0.instanceID) (\($0.reason))" }.joined(separator: ", ")
                    }
                    record("orphan-terminated", cluster: command.cluster, message, epoch: epoch)
                case .refused(let code, let message):
                    // Not asked again while the reports name the same orphans: a refusal is the agent's word.
                    record(
                        "refused",
                        cluster: command.cluster,
                        "orphan termination of \(command.instanceIDs.joined(separator: ", ")) refused (\(code)): \(message)",
                        epoch: epoch
                    )
                case .unreachable, .notLeading:
                    commands.orphanTerminationFailed(command)
                }
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number (for display).
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
