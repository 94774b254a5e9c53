import BallastConfig
import Cost

extension ScenarioFile {
    /// Checks every value and every relation between values, throwing for the first problem with the key it is at
    /// (dotted, list positions as numbers: `clusters.1.spot-share`; `Scenario.load` writes them `clusters[1]`).
    func validate() throws(ConfigValidationError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigValidationError(key: "name", expected: "a name for the scenario")
        }
        guard let durationMinutes = duration.wholeMinutes, durationMinutes > 0 else {
            throw ConfigValidationError(
                key: "duration",
                expected: "a positive whole number of minutes such as 90m, 6h, 1d or 7d"
            )
        }
        try validateCloud()
        let catalog = try? PriceCatalog.bundled()
        guard !clusters.isEmpty else {
            throw ConfigValidationError(key: "clusters", expected: "at least one cluster (id, region, trace)")
        }
        var ids = Set<String>()
        for (index, cluster) in clusters.enumerated() {
            try validate(cluster, key: "clusters.\(index)", catalog: catalog)
            guard ids.insert(cluster.id).inserted else {
                throw ConfigValidationError(key: "clusters.\(index).id", expected: "a cluster id no other cluster has")
            }
        }
        for (index, cluster) in clusters.enumerated() {
            for (position, target) in (cluster.failoverTargets ?? []).enumerated()
            where !ids.contains(target) || target == cluster.id {
                throw ConfigValidationError(
                    key: "clusters.\(index).failover-targets.\(position)",
                    expected: "another cluster of this scenario (\(list(ids.subtracting([cluster.id]))))"
                )
            }
        }
        try validateBudget()
        for (index, event) in (events ?? []).enumerated() {
            try validate(event, key: "events.\(index)", durationMinutes: durationMinutes)
        }
    }

    private func validateCloud() throws(ConfigValidationError) {
        guard let cloud else { return }
        let defaults = ScenarioCloud()
        let p50 = cloud.bootP50?.seconds ?? defaults.bootP50Seconds
        let p90 = cloud.bootP90?.seconds ?? defaults.bootP90Seconds
        guard p50 > 0 else {
            throw ConfigValidationError(key: "cloud.boot-p50", expected: "a positive duration such as 90s")
        }
        guard p90 >= p50 else {
            throw ConfigValidationError(
                key: cloud.bootP90 == nil ? "cloud.boot-p50" : "cloud.boot-p90",
                expected: "boot-p90 at least boot-p50 (p50 \(p50)s, p90 \(p90)s)"
            )
        }
        if let rate = cloud.interruptionsPerInstanceHour, !(rate >= 0 && rate.isFinite) {
            throw ConfigValidationError(
                key: "cloud.interruptions-per-instance-hour",
                expected: "a rate of zero or more, such as 0.002"
            )
        }
        if let share = cloud.rebalanceShare, !(0...1).contains(share) {
            throw ConfigValidationError(key: "cloud.rebalance-share", expected: "a share from 0 to 1")
        }
        if let volatility = cloud.spotPriceVolatility, !(volatility >= 0 && volatility < 1) {
            throw ConfigValidationError(
                key: "cloud.spot-price-volatility",
                expected: "a fraction of the price from 0 up to (not including) 1, such as 0.03"
            )
        }
    }

    private func validate(_ cluster: Cluster, key: String, catalog: PriceCatalog?) throws(ConfigValidationError) {
        guard !cluster.id.isEmpty, cluster.id.utf8.count <= 255, !cluster.id.contains(where: \.isWhitespace) else {
            throw ConfigValidationError(key: key + ".id", expected: "a cluster id of 1 to 255 bytes without spaces")
        }
        if let catalog {
            guard catalog.regions.contains(cluster.region) else {
                throw ConfigValidationError(
                    key: key + ".region",
                    expected: "an AWS region the price catalog has (\(catalog.regions.joined(separator: ", ")))"
                )
            }
        } else {
            guard !cluster.region.isEmpty else {
                throw ConfigValidationError(key: key + ".region", expected: "an AWS region such as eu-west-1")
            }
        }
        if let zones = cluster.zones {
            guard !zones.isEmpty else {
                throw ConfigValidationError(
                    key: key + ".zones",
                    expected: "at least one zone of \(cluster.region), such as \(cluster.region)a"
                )
            }
            var seen = Set<String>()
            for (position, zone) in zones.enumerated() {
                guard zone.hasPrefix(cluster.region), zone.count > cluster.region.count else {
                    throw ConfigValidationError(
                        key: key + ".zones.\(position)",
                        expected: "a zone of the cluster's region \(cluster.region), such as \(cluster.region)a"
                    )
                }
                guard seen.insert(zone).inserted else {
                    throw ConfigValidationError(key: key + ".zones.\(position)", expected: "a zone not listed twice")
                }
            }
        }
        try validate(cluster.trace, key: key + ".trace")
        if let requestsPerPod = cluster.requestsPerPod, !(requestsPerPod > 0 && requestsPerPod.isFinite) {
            throw ConfigValidationError(
                key: key + ".requests-per-pod",
                expected: "a positive number of requests per minute one pod serves"
            )
        }
        if let cpu = cluster.pod?.cpu, cpu.milli <= 0 {
            throw ConfigValidationError(key: key + ".pod.cpu", expected: "a positive CPU request such as 250m or 1")
        }
        if let memory = cluster.pod?.memory, memory.whole <= 0 {
            throw ConfigValidationError(
                key: key + ".pod.memory",
                expected: "a positive memory request such as 512Mi or 1Gi"
            )
        }
        if let maxUnavailable = cluster.maxUnavailable, maxUnavailable < 0 {
            throw ConfigValidationError(key: key + ".max-unavailable", expected: "a number of pods, zero or more")
        }
        if let types = cluster.instanceTypes {
            guard !types.isEmpty else {
                throw ConfigValidationError(
                    key: key + ".instance-types",
                    expected: "at least one instance type, such as m6i.large"
                )
            }
            for (position, type) in types.enumerated() {
                let sold = catalog.map { $0.onDemandUSDPerHour(region: cluster.region, instanceType: type) != nil }
                guard !type.isEmpty, sold ?? true else {
                    throw ConfigValidationError(
                        key: key + ".instance-types.\(position)",
                        expected: "an instance type the price catalog sells in \(cluster.region), such as m6i.large"
                    )
                }
            }
        }
        try validateNodes(cluster, key: key)
        if let priority = cluster.priority, !(0...3).contains(priority.value) {
            throw ConfigValidationError(key: key + ".priority", expected: Priority.expectedForm)
        }
    }

    private func validate(_ trace: Trace, key: String) throws(ConfigValidationError) {
        guard !trace.file.isEmpty else {
            throw ConfigValidationError(
                key: key + ".file",
                expected: "the path of a minute,requests CSV, relative to this file"
            )
        }
        if let offset = trace.offset, offset.wholeMinutes == nil {
            throw ConfigValidationError(
                key: key + ".offset",
                expected: "a whole number of minutes into the trace, such as 0m, 90m or 12d"
            )
        }
        if let scale = trace.scale, !(scale > 0 && scale.isFinite) {
            throw ConfigValidationError(key: key + ".scale", expected: "a positive factor such as 1 or 2.5")
        }
    }

    private func validateNodes(_ cluster: Cluster, key: String) throws(ConfigValidationError) {
        let defaults = ScenarioCluster.defaults
        let minNodes = cluster.minNodes ?? defaults.minNodes
        let maxNodes = cluster.maxNodes ?? defaults.maxNodes
        let initialNodes = cluster.initialNodes ?? defaults.initialNodes
        let onDemandBase = cluster.onDemandBase ?? defaults.onDemandBase
        guard minNodes >= 0 else {
            throw ConfigValidationError(key: key + ".min-nodes", expected: "a number of nodes, zero or more")
        }
        guard maxNodes >= 1 else {
            throw ConfigValidationError(key: key + ".max-nodes", expected: "a number of nodes, one or more")
        }
        guard minNodes <= maxNodes else {
            throw ConfigValidationError(
                key: key + (cluster.minNodes == nil ? ".max-nodes" : ".min-nodes"),
                expected: "min-nodes at most max-nodes (min \(minNodes), max \(maxNodes))"
            )
        }
        guard initialNodes >= minNodes, initialNodes <= maxNodes else {
            let culprit =
                cluster.initialNodes != nil ? ".initial-nodes" : initialNodes < minNodes ? ".min-nodes" : ".max-nodes"
            throw ConfigValidationError(
                key: key + culprit,
                expected: "min-nodes ≤ initial-nodes ≤ max-nodes (here \(minNodes), \(initialNodes), \(maxNodes))"
            )
        }
        guard onDemandBase >= 0, onDemandBase <= maxNodes else {
            throw ConfigValidationError(
                key: key + (cluster.onDemandBase == nil ? ".max-nodes" : ".on-demand-base"),
                expected: "an on-demand base from 0 to max-nodes (\(maxNodes))"
            )
        }
        if let spotShare = cluster.spotShare, !(0...1).contains(spotShare) {
            throw ConfigValidationError(key: key + ".spot-share", expected: "a share from 0 to 1, such as 0.7")
        }
        if let target = cluster.targetUtilisation, !(target > 0 && target <= 1) {
            throw ConfigValidationError(
                key: key + ".target-utilisation",
                expected: "a share above 0 and at most 1, such as 0.75"
            )
        }
    }

    private func validateBudget() throws(ConfigValidationError) {
        guard let budget else { return }
        guard budget.monthlyUSD > 0, budget.monthlyUSD.isFinite else {
            throw ConfigValidationError(key: "budget.monthly-usd", expected: "a positive monthly allowance in USD")
        }
        let regions = Set(clusters.map(\.region))
        for (region, usd) in (budget.regions ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard regions.contains(region) else {
                throw ConfigValidationError(
                    key: "budget.regions.\(region)",
                    expected: "a region one of the clusters is in (\(list(regions)))"
                )
            }
            guard usd > 0, usd.isFinite else {
                throw ConfigValidationError(
                    key: "budget.regions.\(region)",
                    expected: "a positive monthly allowance in USD"
                )
            }
        }
        if let spent = budget.spentBeforeUSD, !(spent >= 0 && spent.isFinite) {
            throw ConfigValidationError(
                key: "budget.spent-before-usd",
                expected: "the USD already spent this month, zero or more"
            )
        }
    }

    private func validate(_ event: Event, key: String, durationMinutes: Int) throws(ConfigValidationError) {
        guard let at = event.at.wholeMinutes, at < durationMinutes else {
            throw ConfigValidationError(
                key: key + ".at",
                expected: "a whole number of minutes within the run, from 0m up to (not including) \(duration)"
            )
        }
        let kindKey = key + "." + event.kind.key
        switch event.kind {
        case .zoneOutage(let outage):
            try checkZone(outage.zone, key: kindKey + ".zone")
            try checkSpan(outage.duration, key: kindKey + ".for")
        case .regionOutage(let outage):
            try checkRegion(outage.region, key: kindKey + ".region")
            try checkSpan(outage.duration, key: kindKey + ".for")
        case .priceChange(let change):
            if let region = change.region { try checkRegion(region, key: kindKey + ".region") }
            if let zone = change.zone {
                try checkZone(zone, key: kindKey + ".zone")
                if let region = change.region, !zone.hasPrefix(region) {
                    throw ConfigValidationError(key: kindKey + ".zone", expected: "a zone of the region \(region)")
                }
            }
            if let type = change.instanceType {
                try checkInstanceType(type, in: change.zone ?? change.region, key: kindKey + ".instance-type")
            }
            guard change.factor > 0, change.factor.isFinite else {
                throw ConfigValidationError(key: kindKey + ".factor", expected: "a positive factor such as 1.8")
            }
        case .spotStorm(let storm):
            try checkZone(storm.zone, key: kindKey + ".zone")
            if let type = storm.instanceType {
                try checkInstanceType(type, in: storm.zone, key: kindKey + ".instance-type")
            }
            try checkSpan(storm.duration, key: kindKey + ".for")
            guard storm.interruptionsPerInstanceHour > 0, storm.interruptionsPerInstanceHour.isFinite else {
                throw ConfigValidationError(
                    key: kindKey + ".interruptions-per-instance-hour",
                    expected: "a positive rate such as 0.5"
                )
            }
        case .capacityShortage(let shortage):
            try checkZone(shortage.zone, key: kindKey + ".zone")
            if let type = shortage.instanceType {
                try checkInstanceType(type, in: shortage.zone, key: kindKey + ".instance-type")
            }
            try checkSpan(shortage.duration, key: kindKey + ".for")
        case .budgetChange(let change):
            guard budget != nil else {
                throw ConfigValidationError(
                    key: kindKey,
                    expected: "a `budget:` for the scenario, which a budget-change changes"
                )
            }
            if let region = change.region { try checkRegion(region, key: kindKey + ".region") }
            guard change.monthlyUSD > 0, change.monthlyUSD.isFinite else {
                throw ConfigValidationError(
                    key: kindKey + ".monthly-usd",
                    expected: "a positive monthly allowance in USD"
                )
            }
        case .failover(let failover):
            try checkFailoverSource(failover.from, key: kindKey + ".from")
            guard let target = clusters.first(where: { $0.id == failover.to }) else {
                throw ConfigValidationError(
                    key: kindKey + ".to",
                    expected: "a cluster of this scenario (\(list(Set(clusters.map(\.id)))))"
                )
            }
            guard target.id != failover.from, target.region != failover.from else {
                throw ConfigValidationError(
                    key: kindKey + ".to",
                    expected: "a cluster outside \(failover.from), which is the one failed over"
                )
            }
        case .failback(let failback):
            try checkFailoverSource(failback.from, key: kindKey + ".from")
        }
    }

    private var allZones: Set<String> { Set(clusters.flatMap(\.resolvedZones)) }
    private var allRegions: Set<String> { Set(clusters.map(\.region)) }

    private func checkZone(_ zone: String, key: String) throws(ConfigValidationError) {
        guard allZones.contains(zone) else {
            throw ConfigValidationError(key: key, expected: "a zone one of the clusters runs in (\(list(allZones)))")
        }
    }

    private func checkRegion(_ region: String, key: String) throws(ConfigValidationError) {
        guard allRegions.contains(region) else {
            throw ConfigValidationError(key: key, expected: "a region one of the clusters is in (\(list(allRegions)))")
        }
    }

    private func checkFailoverSource(_ source: String, key: String) throws(ConfigValidationError) {
        guard allRegions.contains(source) || clusters.contains(where: { $0.id == source }) else {
            throw ConfigValidationError(
                key: key,
                expected: "a region or a cluster of this scenario (\(list(allRegions.union(clusters.map(\.id)))))"
            )
        }
    }

    /// An event's instance type must be one a cluster in that place (zone or region; anywhere when nil) may run,
    /// or the event would change nothing.
    private func checkInstanceType(_ type: String, in place: String?, key: String) throws(ConfigValidationError) {
        let candidates = clusters.filter { cluster in
            place.map { cluster.region == $0 || cluster.resolvedZones.contains($0) } ?? true
        }
        let types = Set(candidates.flatMap { $0.instanceTypes ?? ScenarioCluster.defaults.instanceTypes })
        guard types.contains(type) else {
            throw ConfigValidationError(
                key: key,
                expected: "an instance type a cluster \(place.map { "in \($0) " } ?? "")may run (\(list(types)))"
            )
        }
    }

    private func checkSpan(_ span: ScenarioDuration, key: String) throws(ConfigValidationError) {
        guard let minutes = span.wholeMinutes, minutes > 0 else {
            throw ConfigValidationError(key: key, expected: "a positive whole number of minutes such as 30m or 2h")
        }
    }

    private func list(_ names: Set<String>) -> String {
        names.sorted().joined(separator: ", ")
    }
}

extension ScenarioCluster {
    /// A cluster with every default, to read the defaults from in one place: the memberwise initialiser's.
    static let defaults = ScenarioCluster(
        id: "",
        region: "",
        zones: [],
        trace: ScenarioTrace(path: ""),
        requestsPerPod: 1
    )
}
