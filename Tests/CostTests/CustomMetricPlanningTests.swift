import Testing

@testable import Cost

/// Rule 1's terms beyond requests: the nodes each custom metric asks for (KEDA style, `ceil(value / target)`) and
/// the measured use; and rule 6 keeping to them, never on stale data.
@Suite("Planner: custom metrics and measured use")
struct CustomMetricPlanningTests {
    typealias F = Fixture
    let planner = FleetPlanner()

    func onDemandOnly(_ configure: (inout ClusterPolicy) -> Void = { _ in }) -> ClusterPolicy {
        F.policy {
            $0.minNodes = 0
            $0.onDemandBase = 0
            $0.targetSpotShare = 0
            configure(&$0)
        }
    }

    func plan(_ report: ClusterReport, policy: ClusterPolicy) throws -> ClusterPlan {
        var state = PlannerState()
        return try #require(
            planner.plan(F.input([report], policies: [report.clusterID: policy]), state: &state)
                .plan(for: report.clusterID)
        )
    }

    static func queue(_ value: Double, stale: Bool = false) -> CustomMetricReport {
        CustomMetricReport(name: "queue_depth", value: value, targetPerNode: 100, stale: stale)
    }

    /// Two lightly loaded nodes: requests alone need no more than these.
    static func light(_ metrics: [CustomMetricReport]) -> ClusterReport {
        var report = F.report("a", nodes: [F.node("a1", load: 0.3), F.node("b1", zone: "us-east-1b", load: 0.3)])
        report.customMetrics = metrics
        return report
    }

    @Test(
        "a binding custom metric scales the cluster up to ceil(value / target per node) nodes",
        arguments: [(450.0, 5, true), (500, 5, true), (501, 6, true), (150, 2, true), (0, 2, false)]
    )
    func bindingMetricScalesUp(value: Double, nodes: Int, binding: Bool) throws {
        let p = try plan(Self.light([Self.queue(value)]), policy: onDemandOnly())
        #expect(p.launchCount == nodes - 2)
        #expect(p.drains.isEmpty)
        // The reason names the metric whenever it decides the count: at 150 it keeps the second node, which the
        // requests alone (0.6 of a node's capacity at 75 %) would let go; at 0 it asks for nothing.
        let named = p.reasons.contains { $0.hasPrefix("custom metric 'queue_depth' = \(Int(value)) at 100 per node") }
        #expect(named == binding, "\(p.reasons)")
    }

    @Test("the largest of several custom metrics binds, and the cap still holds")
    func largestMetricAndCap() throws {
        let jobs = CustomMetricReport(name: "jobs", value: 7, targetPerNode: 1)
        let p = try plan(Self.light([Self.queue(300), jobs]), policy: onDemandOnly())
        #expect(p.launchCount == 5)
        #expect(p.reasons.contains { $0.hasPrefix("custom metric 'jobs' = 7 at 1 per node needs 7 nodes") })
        let capped = try plan(Self.light([Self.queue(100_000)]), policy: onDemandOnly { $0.maxNodes = 6 })
        #expect(capped.launchCount == 4)
        #expect(capped.reasons.contains { $0.hasPrefix("cap: demand wants 1000 nodes, max is 6") })
    }

    @Test("a custom metric asking for less than the requests need changes nothing: no scale-down below requests")
    func noScaleDownBelowRequests() throws {
        // Four nodes at 70 %: requests need 4 × 0.7 / 0.75 = 3.7 nodes of capacity, so all four stay.
        var busy = F.report("a", nodes: (0..<4).map { F.node("n\($0)", zone: F.zones[$0 % 3], load: 0.7) })
        let policy = onDemandOnly { $0.scaleDownUnneeded = .zero }
        let without = try plan(busy, policy: policy)
        busy.customMetrics = [Self.queue(50)]
        let with = try plan(busy, policy: policy)
        #expect(with.drains.isEmpty && with.launchCount == 0)
        #expect(with.drains == without.drains && with.launches == without.launches)

        // Pending pods that need more than the metric: the requests decide the launches.
        var pending = F.report("a", nodes: [], pending: F.pending(cpu: 3, gib: 1))
        let needs = try plan(pending, policy: policy)
        pending.customMetrics = [Self.queue(100)]
        let grown = try plan(pending, policy: policy)
        #expect(grown.launches == needs.launches)
        #expect(grown.launchCount == 3)
    }

    @Test("scale-down stops at the nodes a fresh custom metric asks for")
    func scaleDownStopsAtMetric() throws {
        let empty = (0..<6).map { F.node("n\($0)", zone: F.zones[$0 % 3], load: 0) }
        let policy = onDemandOnly {
            $0.scaleDownUnneeded = .zero
            $0.disruptionBudget = 1
        }
        var report = F.report("a", nodes: empty)
        #expect(try plan(report, policy: policy).drains.count == 6)
        report.customMetrics = [Self.queue(350)]
        let p = try plan(report, policy: policy)
        #expect(p.drains.count == 2)
        #expect(p.launchCount == 0)
        #expect(
            p.reasons.contains(
                "custom metric 'queue_depth' = 350 at 100 per node needs 4 nodes: none removed below that"
            )
        )
    }

    @Test("a stale custom metric blocks scale-down and asks for no nodes")
    func staleMetricBlocksScaleDown() throws {
        let empty = (0..<4).map { F.node("n\($0)", zone: F.zones[$0 % 3], load: 0) }
        let policy = onDemandOnly { $0.scaleDownUnneeded = .zero }
        var report = F.report("a", nodes: empty)
        report.customMetrics = [Self.queue(0)]
        #expect(try plan(report, policy: policy).drains.count == 1)

        report.customMetrics = [Self.queue(0, stale: true)]
        let stale = try plan(report, policy: policy)
        #expect(stale.drains.isEmpty)
        #expect(stale.reasons.contains("custom metric 'queue_depth' is stale: no scale-down"))

        // Its last value would ask for ten nodes; stale, it buys none.
        let high = try plan(Self.light([Self.queue(1_000, stale: true)]), policy: policy)
        #expect(high.launchCount == 0)
        #expect(high.drains.isEmpty)
    }

    @Test("measured use above the requests raises demand; stale utilisation does not")
    func measuredUseRaisesDemand() throws {
        // Two m6i.large (1.8 vCPU each) at 20 % requested but 90 % used: 3.24 vCPU / 0.75 = 4.32 needed, 3.6 there.
        var report = F.report("a", nodes: [F.node("a1", load: 0.2), F.node("b1", zone: "us-east-1b", load: 0.2)])
        #expect(try plan(report, policy: onDemandOnly()).launchCount == 0)
        report.utilisation = Utilisation(cpu: 0.9, memory: 0.1)
        let p = try plan(report, policy: onDemandOnly())
        #expect(p.launchCount == 1)
        #expect(p.reasons.contains { $0.hasPrefix("measured use (3240m CPU") }, "\(p.reasons)")
        report.metricsStale = true
        #expect(try plan(report, policy: onDemandOnly()).launchCount == 0)
    }

    @Test("nodes wanted: ceil(value / target), nothing for a target or value that gives no count")
    func nodesWanted() {
        #expect(Self.queue(250).nodesWanted == 3)
        #expect(Self.queue(-5).nodesWanted == 0)
        #expect(CustomMetricReport(name: "q", value: 1, targetPerNode: 0).nodesWanted == nil)
        #expect(CustomMetricReport(name: "q", value: .infinity, targetPerNode: 1).nodesWanted == nil)
        #expect(CustomMetricReport(name: "q", value: 1e300, targetPerNode: 1e-300).nodesWanted == nil)
        #expect(
            Utilisation(cpu: 2, memory: .nan).share(of: .vcpu(2, gib: 1))
                == Resources(cpuMillicores: 2000, memoryBytes: 0)
        )
        #expect(
            Utilisation(cpu: 0.5, memory: 1).share(of: Resources(cpuMillicores: .max, memoryBytes: .max)).memoryBytes
                == .max
        )
    }
}
