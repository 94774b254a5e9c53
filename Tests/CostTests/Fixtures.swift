import Cost

/// Hand-made fleets for the planner tests. All times are relative to `t0`.
enum Fixture {
    static let catalog: PriceCatalog = {
        do { return try PriceCatalog.bundled() } catch { preconditionFailure("bundled catalog: \(error)") }
    }()
    static let t0 = Timestamp(year: 2026, month: 3, day: 14, hour: 12)
    static let zones = ["us-east-1a", "us-east-1b", "us-east-1c"]

    static func node(
        _ name: String,
        type: String = "m6i.large",
        market: Market = .onDemand,
        zone: String = "us-east-1a",
        state: NodeState = .ready,
        load: Double = 0.5,
        pods: Int = 4,
        blocking: Bool = false,
        age: Duration = .seconds(86_400),
        region: String = "us-east-1"
    ) -> NodeReport {
        let alloc = catalog.specs[type]!.estimatedAllocatable
        return NodeReport(
            name: name,
            instanceID: "i-\(name)",
            instanceType: type,
            market: market,
            availabilityZone: zone,
            state: state,
            launchedAt: t0 - age,
            allocatable: alloc,
            requested: load == 0 ? .zero : alloc.scaled(by: load),
            podCount: load == 0 ? 0 : pods,
            hasDrainBlockingPods: blocking
        )
    }

    static func report(
        _ id: ClusterID,
        region: String = "us-east-1",
        zones: [String] = zones,
        nodes: [NodeReport],
        pending: PendingPods = .none,
        at: Timestamp = t0,
        notices: [InterruptionNotice] = [],
        failures: [LaunchFailure] = []
    ) -> ClusterReport {
        ClusterReport(
            clusterID: id,
            region: region,
            availabilityZones: zones,
            nodes: nodes,
            pending: pending,
            notices: notices,
            launchFailures: failures,
            observedAt: at
        )
    }

    /// Spot prices at 30 % of on-demand for every type in every zone of the given regions.
    static func spotPrices(
        regions: [String: [String]] = ["us-east-1": zones],
        at: Timestamp = t0,
        factor: Double = 0.3
    ) -> SpotPriceCache {
        var cache = SpotPriceCache()
        for (region, zs) in regions {
            for z in zs {
                for t in catalog.instanceTypes(in: region) {
                    let od = catalog.onDemandUSDPerHour(region: region, instanceType: t.name)!
                    cache.record(
                        SpotPrice(usdPerHour: od * factor, observedAt: at),
                        for: SpotPool(region: region, availabilityZone: z, instanceType: t.name)
                    )
                }
            }
        }
        return cache
    }

    static func policy(_ configure: (inout ClusterPolicy) -> Void = { _ in }) -> ClusterPolicy {
        var p = ClusterPolicy()
        configure(&p)
        return p
    }

    static func pending(cpu: Double, gib: Double, largestCPU: Double = 0.5, largestGiB: Double = 1) -> PendingPods {
        PendingPods(count: 1, totalRequests: .vcpu(cpu, gib: gib), largestRequest: .vcpu(largestCPU, gib: largestGiB))
    }

    static func input(
        _ reports: [ClusterReport],
        policies: [ClusterID: ClusterPolicy] = [:],
        allowance: BudgetAllowance = .unlimited,
        spot: SpotPriceCache = spotPrices(),
        forecasts: [ClusterID: Resources] = [:],
        failedRegions: Set<String> = [],
        risk: [SpotPool: Double] = [:],
        now: Timestamp = t0
    ) -> PlannerInput {
        PlannerInput(
            reports: reports,
            policies: policies,
            allowance: allowance,
            catalog: catalog,
            spotPrices: spot,
            interruptionRisk: risk,
            forecasts: forecasts,
            failedRegions: failedRegions,
            now: now
        )
    }
}

extension ClusterPlan {
    var launchCount: Int { launches.reduce(0) { $0 + $1.count } }
}
