import Consensus
import Cost
import Distributed
import FleetAPI
import Wire

// The operator's side of the coordinator: reading and changing the fleet's budget and policies, draining a node,
// reading the journal, previewing a plan. Changes are the leader's alone: a follower answers `NotLeaderError`
// naming the leader, and every change is written to the store fenced by the leader's epoch before it takes effect.

extension CoordinatorActor {
    /// The budget the planner uses: the operator's override when set, else the configuration's.
    var effectiveBudget: FleetBudget? { durable.budgetOverride.map(\.budget) ?? settings.budget }

    /// A cluster's policy as the planner uses it: the configuration's with the operator's changes.
    func effectivePolicy(_ cluster: ClusterID) -> ClusterPolicy {
        let configured = settings.clusters[cluster]?.policy ?? ClusterPolicy()
        return durable.policyChanges[cluster.rawValue]?.applied(to: configured) ?? configured
    }

    /// Reads the operator's changes and the journal from the store. A store that cannot be read leaves what this
    /// replica knew, and says so.
    func refreshDurableState() async {
        do {
            durable = try await stateStore.load()
            for (cluster, stored) in try await stateStore.forecasters() where forecasters[cluster] == nil {
                forecasters[cluster] = stored  // A replica that restarted picks up what the fleet has learnt.
            }
            // Month-to-date and the alerts already given survive a restart and a change of leader.
            if let spend = try await stateStore.spend() { ledger.absorb(spend) }
            let stored = try await stateStore.journal()
            let newest = journal.last?.sequence ?? 0
            if (stored.last?.sequence ?? 0) > newest || journal.isEmpty { journal = stored }
        } catch {
            logger.warning(
                "cannot read the coordinator's state; keeping what this replica knew",
                metadata: ["error": "\(error)"]
            )
        }
    }

    /// Adds an entry to the journal (stored at the end of the leader's round).
    func record(_ kind: String, cluster: ClusterID?, _ message: String, epoch: FencingEpoch) {
        let entry = JournalEntry(
            sequence: (journal.last?.sequence ?? 0) + 1,
            time: clock.timestamp,
            cluster: cluster,
            kind: kind,
            message: message,
            epoch: epoch
        )
        journal.append(entry)
        if journal.count > 2_000 { journal.removeFirst(journal.count - 2_000) }
        unsavedJournal.append(entry)
        if let kind = Self.notificationKinds[kind] {
            notifier.notify(FleetNotification(kind, "\(cluster.map { "\($0): " } ?? "")\(message)"))
        }
    }

    /// Stores the demand profiles once per completed hour (they learn hourly means), fenced by `epoch`.
    func saveForecasters(epoch: FencingEpoch) async {
        let hour = DemandProfile.hourIndex(clock.timestamp)
        guard forecastersStoredForHour != hour, !forecasters.isEmpty else { return }
        do {
            if try await stateStore.save(forecasters: forecasters, epoch: epoch) { forecastersStoredForHour = hour }
        } catch {
            logger.warning("demand history not stored; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Stores the spend ledger at most once a minute (and not when nothing was charged since), fenced by `epoch`.
    func saveSpend(epoch: FencingEpoch) async {
        let now = clock.timestamp
        if let stored = spendStoredAt, now - stored < .seconds(60) { return }
        let snapshot = ledger.snapshot
        guard snapshot != spendStored else { return }
        do {
            if try await stateStore.save(spend: snapshot, epoch: epoch) {
                spendStoredAt = now
                spendStored = snapshot
            }
        } catch {
            logger.warning("spend ledger not stored; will retry", metadata: ["error": "\(error)"])
        }
    }

    func saveJournal(epoch: FencingEpoch) async {
        guard !unsavedJournal.isEmpty else { return }
        do {
            if try await stateStore.append(unsavedJournal, epoch: epoch) {
                unsavedJournal.removeAll()
            } else {
                logger.warning(
                    "journal not stored: this replica's epoch is no longer current",
                    metadata: ["ballast.epoch": "\(epoch)"]
                )
                unsavedJournal.removeAll()
            }
        } catch {
            logger.warning("journal not stored; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// The leader's address as the lease says, for a redirect; nil (and a warning) when the store cannot be read.
    func knownLeaderAddress() async -> String? {
        do {
            return try await leadership.currentLease()?.holder?.address
        } catch {
            logger.warning("cannot read the lease to name the leader", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The epoch to change things under, or `NotLeaderError` naming the leader.
    func requireLeading() async throws -> FencingEpoch {
        if let epoch = leadership.actingEpoch() { return epoch }
        throw NotLeaderError(leader: await knownLeaderAddress())
    }

    /// Stores `changed` fenced by `epoch`, then makes it the state in force.
    func commit(_ changed: DurableFleetState, epoch: FencingEpoch) async throws {
        guard try await stateStore.save(changed, epoch: epoch) else {
            throw NotLeaderError(leader: await knownLeaderAddress())
        }
        durable = changed
    }

    // MARK: CoordinatorAdminEndpoint

    public distributed func leader() async throws -> LeaderInfo {
        let acting = leadership.actingEpoch()
        let lease: LeaseRecord?
        do {
            lease = try await leadership.currentLease()
        } catch {
            throw CommandRejectedError(.unavailable, "the lease store cannot be read: \(error)")
        }
        return LeaderInfo(
            coordinator: actorSystem.nodeID,
            isLeader: acting != nil,
            epoch: acting ?? lease?.epoch ?? .none,
            holder: lease?.holder?.id,
            address: lease?.holder?.address
        )
    }

    public distributed func budget() async throws -> FleetBudget? {
        effectiveBudget
    }

    public distributed func setBudget(_ budget: FleetBudget?) async throws -> FleetBudget? {
        let epoch = try await requireLeading()
        if let budget {
            do throws(CostError) {
                try budget.validate()
            } catch {
                throw CommandRejectedError(.invalid, "\(error.message) (\(error.context))")
            }
            let now = clock.timestamp
            let summary = ledger.summary(.fleet, budget: budget, at: now)
            if budget.monthlyUSD < summary.monthToDateUSD {
                throw CommandRejectedError(
                    .invalid,
                    "a monthly budget of \(usd(budget.monthlyUSD)) is below this month's spend so far, \(usd(summary.monthToDateUSD)); set at least that, or pause clusters to stop growth"
                )
            }
        }
        var changed = durable
        changed.budgetOverride = .init(budget: budget)
        try await commit(changed, epoch: epoch)
        record(
            "budget",
            cluster: nil,
            budget.map {
                "monthly budget set to \(usd($0.monthlyUSD))\($0.regionalMonthlyUSD.isEmpty ? "" : ", regions \($0.regionalMonthlyUSD.sorted { $0.key < $1.key }.map { "\($0.key) \(usd($0.value))" }.joined(separator: ", "))")"
            } ?? "budget removed: unlimited",
            epoch: epoch
        )
        await saveJournal(epoch: epoch)
        return effectiveBudget
    }

    public distributed func policy(_ cluster: ClusterID) async throws -> ClusterPolicy {
        guard settings.clusters[cluster] != nil else {
            throw CommandRejectedError(.wrongCluster, "cluster \(cluster) is not managed by this fleet")
        }
        return effectivePolicy(cluster)
    }

    public distributed func updatePolicy(_ cluster: ClusterID, _ change: PolicyChange) async throws -> ClusterPolicy {
        guard settings.clusters[cluster] != nil else {
            throw CommandRejectedError(.wrongCluster, "cluster \(cluster) is not managed by this fleet")
        }
        let epoch = try await requireLeading()
        var changed = durable
        let merged = (changed.policyChanges[cluster.rawValue] ?? PolicyChange()).merged(with: change)
        changed.policyChanges[cluster.rawValue] = merged
        let configured = settings.clusters[cluster]?.policy ?? ClusterPolicy()
        do throws(CostError) {
            try merged.applied(to: configured).validate(cluster: cluster)
        } catch {
            throw CommandRejectedError(.invalid, "\(error.field ?? error.context): \(error.message)")
        }
        try await commit(changed, epoch: epoch)
        record("policy", cluster: cluster, "policy changed: \(Self.describe(change))", epoch: epoch)
        await saveJournal(epoch: epoch)
        return effectivePolicy(cluster)
    }

    public distributed func drain(_ cluster: ClusterID, node: String) async throws -> DrainReceipt {
        guard settings.clusters[cluster] != nil else {
            throw CommandRejectedError(.wrongCluster, "cluster \(cluster) is not managed by this fleet")
        }
        let epoch = try await requireLeading()
        let command = DrainCommand(
            stamp: CommandStamp(epoch: epoch, generation: lastPlanGeneration, leader: actorSystem.nodeID),
            cluster: cluster,
            nodeName: node,
            deadlineSeconds: Int(settings.drainDeadline.components.seconds),
            reason: "operator asked to drain \(node)"
        )
        commands.drainSent(command, at: clock.now)
        let sender = CommandSender(system: actorSystem, leadership: leadership, clock: clock, logger: logger)
        switch await sender.send(command) {
        case .accepted(let receipt):
            commands.drainAccepted(cluster: cluster, nodeName: node)
            record("drain", cluster: cluster, "\(node): operator asked", epoch: epoch)
            await saveJournal(epoch: epoch)
            return receipt
        case .refused(let code, let message):
            commands.drainFailed(cluster: cluster, nodeName: node)
            throw CommandRejectedError(.invalid, "the agent refused (\(code)): \(message)")
        case .unreachable(let problem):
            commands.drainFailed(cluster: cluster, nodeName: node)
            throw CommandRejectedError(.unavailable, "the agent of \(cluster) did not answer: \(problem)")
        case .notLeading:
            commands.drainFailed(cluster: cluster, nodeName: node)
            throw NotLeaderError(leader: await knownLeaderAddress())
        }
    }

    public distributed func events(after: UInt64, cluster: ClusterID?, limit: Int) async throws -> [JournalEntry] {
        if leadership.actingEpoch() == nil { await refreshDurableState() }
        let matching = journal.filter { $0.sequence > after && (cluster == nil || $0.cluster == cluster) }
        return Array(matching.suffix(max(0, min(limit, 2_000))))
    }

    public distributed func previewPlan() async throws -> FleetStatus {
        _ = try await requireLeading()
        return status(with: previewedPlan())
    }

    /// Which journal entries people hear about, and as what.
    static let notificationKinds: [String: FleetNotification.Kind] = [
        "launch": .scaleUp, "drain": .scaleDown, "refused": .failure, "stuck-drain": .failure,
        "leader": .leader, "budget": .budget, "budget-alert": .budget, "interruption": .interruption,
        "cluster-lost": .clusterLost, "cluster-back": .clusterLost, "failover": .failover,
    ]

    public distributed func failover(_ request: FailoverRequest) async throws -> FailoverState {
        let (what, clusters) = try failoverScope(request)
        for target in request.targets where settings.clusters[target] == nil {
            throw CommandRejectedError(.wrongCluster, "failover target \(target) is not managed by this fleet")
        }
        for target in request.targets where clusters.contains(target) {
            throw CommandRejectedError(.invalid, "failover target \(target) is itself failed over by this request")
        }
        if let region = request.region {
            for target in request.targets where settings.clusters[target]?.region == region {
                throw CommandRejectedError(.invalid, "failover target \(target) is in the failed region \(region)")
            }
        }
        let epoch = try await requireLeading()
        var changed = durable
        if let region = request.region { changed.failedRegions.insert(region) }
        if let cluster = request.cluster { changed.failedClusters.insert(cluster.rawValue) }
        if !request.targets.isEmpty {
            for cluster in clusters {
                changed.policyChanges[cluster.rawValue] = (changed.policyChanges[cluster.rawValue] ?? PolicyChange())
                    .merged(with: PolicyChange(failoverTargets: request.targets))
            }
        }
        try await commit(changed, epoch: epoch)
        let moves = clusters.map { cluster in
            let targets = effectivePolicy(cluster).failoverTargets.map(\.rawValue)
            return "\(cluster) → \(targets.isEmpty ? "no target" : targets.joined(separator: ", "))"
        }
        record(
            "failover",
            cluster: request.cluster,
            "\(what) failed over: \(moves.joined(separator: "; "))",
            epoch: epoch
        )
        await saveJournal(epoch: epoch)
        return failoverState
    }

    public distributed func failback(_ request: FailoverRequest) async throws -> FailoverState {
        let (what, _) = try failoverScope(request)
        let epoch = try await requireLeading()
        var changed = durable
        if let region = request.region, changed.failedRegions.remove(region) == nil {
            throw CommandRejectedError(.invalid, "\(what) is not failed over")
        }
        if let cluster = request.cluster, changed.failedClusters.remove(cluster.rawValue) == nil {
            throw CommandRejectedError(.invalid, "\(what) is not failed over")
        }
        try await commit(changed, epoch: epoch)
        record("failover", cluster: request.cluster, "\(what) failed back: it plans for itself again", epoch: epoch)
        await saveJournal(epoch: epoch)
        return failoverState
    }

    var failoverState: FailoverState {
        FailoverState(
            failedRegions: durable.failedRegions.sorted(),
            failedClusters: durable.failedClusters.sorted().map { ClusterID($0) }
        )
    }

    /// The words for what `request` names and the clusters it covers; refuses a request naming neither or both,
    /// or nothing this fleet manages.
    func failoverScope(_ request: FailoverRequest) throws -> (String, [ClusterID]) {
        switch (request.region, request.cluster) {
        case (let region?, nil):
            let clusters = settings.clusters.filter { $0.value.region == region }.map(\.key).sorted()
            guard !clusters.isEmpty else {
                throw CommandRejectedError(.invalid, "no cluster of this fleet is in region \(region)")
            }
            return ("region \(region)", clusters)
        case (nil, let cluster?):
            guard settings.clusters[cluster] != nil else {
                throw CommandRejectedError(.wrongCluster, "cluster \(cluster) is not managed by this fleet")
            }
            return ("cluster \(cluster)", [cluster])
        default:
            throw CommandRejectedError(.invalid, "name a region or a cluster, not both")
        }
    }

    static func describe(_ change: PolicyChange) -> String {
        var parts: [String] = []
        if let value = change.minNodes { parts.append("min-nodes \(value)") }
        if let value = change.maxNodes { parts.append("max-nodes \(value)") }
        if let value = change.onDemandBase { parts.append("on-demand-base \(value)") }
        if let value = change.targetSpotShare { parts.append("spot-share \(value)") }
        if let value = change.priorityClass { parts.append("priority \(value)") }
        if let value = change.weight { parts.append("weight \(value)") }
        if let value = change.paused { parts.append(value ? "paused" : "resumed") }
        if let value = change.failoverTargets { parts.append("failover-targets \(value.map(\.rawValue))") }
        if let value = change.targetUtilisation { parts.append("target-utilisation \(value)") }
        if let value = change.disruptionBudget { parts.append("disruption-budget \(value)") }
        if let value = change.maxEvictionsPerHour { parts.append("max-evictions-per-hour \(value)") }
        if let value = change.scaleDownUnneededSeconds { parts.append("scale-down-unneeded \(value)s") }
        if let value = change.scaleDownDelayAfterAddSeconds { parts.append("scale-down-delay-after-add \(value)s") }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }
}

private func usd(_ value: Double) -> String {
    let cents = (value * 100).rounded()
    return "$" + String(Int(cents) / 100) + "." + String(format2(Int(cents) % 100))
}

private func format2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
