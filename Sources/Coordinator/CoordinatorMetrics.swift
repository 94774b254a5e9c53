import CoreMetrics
import Cost
import FleetAPI
import Metrics

/// The coordinator's gauges (docs/operations.md lists them with the alerts built on them), set from each plan and
/// from the spend ledger. Series of a cluster or pool that is gone are set to zero, not left at their last value.
struct CoordinatorMetrics {
    private let factory: any MetricsFactory
    private var desiredSeries: Set<[String]> = []

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    mutating func record(plan: FleetPlan, lost: Set<ClusterID>, clusters: [ClusterID: String]) {
        var desired: [[String]: Int] = [:]
        for cluster in plan.clusters {
            for (group, count) in cluster.desired {
                desired[[cluster.cluster.rawValue, group.market.rawValue, group.availabilityZone], default: 0] += count
            }
        }
        for series in desiredSeries.subtracting(desired.keys) { desired[series] = 0 }
        for (series, count) in desired {
            Gauge(
                label: "ballast_desired_nodes",
                dimensions: [("cluster", series[0]), ("market", series[1]), ("zone", series[2])],
                factory: factory
            ).record(count)
        }
        desiredSeries = Set(desired.filter { $0.value > 0 }.keys)
        for id in clusters.keys {
            Gauge(label: "ballast_cluster_lost", dimensions: [("cluster", id.rawValue)], factory: factory)
                .record(lost.contains(id) ? 1 : 0)
        }
    }

    func record(spend ledger: SpendLedger, budget: FleetBudget?, clusters: [ClusterID: String], at now: Timestamp) {
        let reference = budget ?? FleetBudget(monthlyUSD: .greatestFiniteMagnitude)
        for (id, region) in clusters {
            let summary = ledger.summary(.cluster(id), budget: reference, at: now)
            Gauge(
                label: "ballast_spend_usd_per_hour",
                dimensions: [("cluster", id.rawValue), ("region", region)],
                factory: factory
            ).record(summary.burnRateUSDPerHour)
        }
        var scopes: [(SpendScope, [(String, String)])] = [(.fleet, [("scope", "fleet")])]
        for region in Set(clusters.values).sorted() {
            scopes.append((.region(region), [("scope", "region"), ("region", region)]))
        }
        for (scope, dimensions) in scopes {
            let summary = ledger.summary(scope, budget: reference, at: now)
            Gauge(label: "ballast_spend_month_to_date_usd", dimensions: dimensions, factory: factory)
                .record(summary.monthToDateUSD)
            if budget != nil, let budgetUSD = summary.budgetUSD, budgetUSD > 0 {
                Gauge(label: "ballast_budget_projection_ratio", dimensions: dimensions, factory: factory)
                    .record(summary.projectedMonthEndUSD / budgetUSD)
            }
        }
    }

    func record(planDuration: Duration) {
        CoreMetrics.Timer(label: "ballast_plan_duration_seconds", factory: factory).record(duration: planDuration)
    }

    func record(connectedAgents: Int) {
        Gauge(label: "ballast_connected_agents", factory: factory).record(connectedAgents)
    }
}
