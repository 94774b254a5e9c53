import PropertyBased
import Testing

@testable import Cost

/// Invariants of the planner over generated fleets: floors, caps, budget, spot share, zone balance, safe drains.
@Suite("Fleet planner properties")
struct FleetPlannerPropertyTests {
    typealias F = Fixture

    /// The shape of one generated cluster.
    struct ClusterShape: Sendable, CustomStringConvertible {
        var nodes: Int
        var pendingCPU: Int
        var minNodes: Int
        var extraMax: Int
        var base: Int
        var spotTenths: Int
        var zones: Int
        var loadMix: Int
        var description: String {
            "nodes \(nodes) pending \(pendingCPU) min \(minNodes) max +\(extraMax) base \(base) spot \(spotTenths)/10 zones \(zones) load \(loadMix)"
        }
    }

    static let shapeGen = zip(
        Gen.int(in: 0...12),
        Gen.int(in: 0...24),
        Gen.int(in: 0...4),
        Gen.int(in: 0...12),
        Gen.int(in: 0...3),
        Gen.int(in: 0...10),
        Gen.int(in: 1...3),
        Gen.int(in: 0...4)
    ).map { n, p, mn, mx, b, s, z, l in
        ClusterShape(nodes: n, pendingCPU: p, minNodes: mn, extraMax: mx, base: b, spotTenths: s, zones: z, loadMix: l)
    }
    static let fleetGen = shapeGen.array(of: 1...4)
    /// Budget level: 0…9 = that many tenths of what the current fleet costs plus a little, 10 = unlimited.
    static let budgetGen = Gen.int(in: 0...10)

    /// A fleet as the planner would have left it: zones balanced, spot share on target, nodes within max.
    static func build(_ shapes: [ClusterShape], budgetLevel: Int) -> (PlannerInput, [ClusterID: ClusterPolicy]) {
        var reports: [ClusterReport] = []
        var policies: [ClusterID: ClusterPolicy] = [:]
        let types = ["m6i.large", "c5.xlarge", "r5.large", "m5.large"]
        let loads = [0.0, 0.2, 0.5, 0.7, 0.9]
        var fleetCost = 0.0
        for (c, s) in shapes.enumerated() {
            let id = ClusterID("c\(c)")
            let zones = Array(F.zones.prefix(s.zones))
            let n = max(s.nodes, 0)
            let base = min(s.base, n)
            let share = Double(s.spotTenths) / 10
            let spotCount = n > base ? Int((Double(n - base) * share).rounded()) : 0
            var nodes: [NodeReport] = []
            for i in 0..<n {
                let market: Market = i >= n - spotCount ? .spot : .onDemand
                let load = loads[(i + s.loadMix) % loads.count]
                let type = types[(i + c) % types.count]
                nodes.append(
                    F.node(
                        "n\(i)",
                        type: type,
                        market: market,
                        zone: zones[i % zones.count],
                        load: load,
                        pods: 3,
                        blocking: i % 7 == 6
                    )
                )
                fleetCost +=
                    F.catalog.onDemandUSDPerHour(region: "us-east-1", instanceType: type)! * (market == .spot ? 0.3 : 1)
            }
            let pending = s.pendingCPU > 0 ? F.pending(cpu: Double(s.pendingCPU) / 2, gib: Double(s.pendingCPU)) : .none
            reports.append(F.report(id, zones: zones, nodes: nodes, pending: pending))
            policies[id] = F.policy {
                $0.minNodes = s.minNodes
                $0.maxNodes = max(n, s.minNodes) + s.extraMax
                $0.onDemandBase = s.base
                $0.targetSpotShare = share
                $0.scaleDownUnneeded = .zero
                $0.priorityClass = PriorityClass(rawValue: c % 4)!
                $0.weight = Double(1 + c)
            }
        }
        let allowance =
            budgetLevel >= 10
            ? BudgetAllowance.unlimited
            : BudgetAllowance(fleetUSDPerHour: fleetCost * Double(budgetLevel) / 9 + 0.05 * Double(budgetLevel))
        return (F.input(reports, policies: policies, allowance: allowance), policies)
    }

    static func run(_ shapes: [ClusterShape], _ level: Int) -> (PlannerInput, FleetPlan) {
        let (input, _) = build(shapes, budgetLevel: level)
        var state = PlannerState()
        return (input, FleetPlanner().plan(input, state: &state))
    }

    @Test("a plan never drops a floor and never exceeds a max it could meet")
    func floorsAndCaps() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, plan) = Self.run(shapes, level)
            for p in plan.clusters {
                let policy = input.policies[p.cluster]!
                #expect(p.desiredNodeCount >= policy.minNodes, "\(p.cluster): \(p.reasons)")
                #expect(p.desiredNodeCount <= policy.maxNodes, "\(p.cluster): \(p.reasons)")
            }
        }
    }

    @Test("a plan stays within the hourly allowance unless floors force it, and then says so")
    func budget() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, plan) = Self.run(shapes, level)
            let allowance = input.allowance.fleetUSDPerHour
            if plan.budget.plannedUSDPerHour > allowance + 1e-9 {
                #expect(plan.budget.overAllowance)
                #expect(plan.reasons.contains { $0.contains("over the allowance") })
                // Only floor launches happen when over the allowance.
                for p in plan.clusters {
                    let policy = input.policies[p.cluster]!
                    let kept = p.keptNodeCount
                    #expect(
                        p.launchCount <= max(0, policy.minNodes - kept),
                        "\(p.cluster) launched \(p.launchCount) over budget"
                    )
                }
            } else {
                #expect(!plan.budget.overAllowance)
            }
            // The shortfall is reported, never hidden: unfunded nodes carry a budget reason.
            for p in plan.clusters where p.unfundedNodes > 0 {
                #expect(p.reasons.contains { $0.hasPrefix("budget") })
            }
        }
    }

    /// Interruption notices in one pool, reported by one cluster: `count` within the last few minutes.
    struct Burst: Sendable, CustomStringConvertible {
        var cluster: Int
        var zone: Int
        var type: Int
        var count: Int
        var description: String { "c\(cluster) z\(zone) t\(type) ×\(count)" }
    }
    static let burstTypes = ["c5.large", "c6i.large", "c5.xlarge", "m6i.large", "r5.large", "m5.large"]
    static let burstsGen = zip(Gen.int(in: 0...3), Gen.int(in: 0...2), Gen.int(in: 0...5), Gen.int(in: 1...4))
        .map { Burst(cluster: $0, zone: $1, type: $2, count: $3) }
        .array(of: 0...4)

    @Test("no new spot node goes to a pool in a storm, the budget still holds, and one interruption is no storm")
    func storms() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen, Self.burstsGen) { shapes, level, bursts in
            var (input, _) = Self.build(shapes, budgetLevel: level)
            var perPool: [SpotPool: Int] = [:]
            for (k, b) in bursts.enumerated() {
                let r = b.cluster % input.reports.count
                let zone = F.zones[b.zone]
                let type = Self.burstTypes[b.type]
                for j in 0..<b.count {
                    input.reports[r].notices.append(
                        InterruptionNotice(
                            kind: .interruption,
                            nodeName: "gone-\(k)-\(j)",
                            instanceType: type,
                            availabilityZone: zone,
                            receivedAt: F.t0 - .seconds(Int64(30 * j))
                        )
                    )
                }
                perPool[SpotPool(region: "us-east-1", availabilityZone: zone, instanceType: type), default: 0] +=
                    b.count
            }
            var state = PlannerState()
            let plan = FleetPlanner().plan(input, state: &state)
            // A pool with no history is measured against the prior: two or more notices are a storm, one is not.
            for (pool, n) in perPool { #expect(state.isStorming(pool) == (n >= 2), "\(pool): \(n)") }
            #expect(state.stormingPools == Set(perPool.filter { $0.value >= 2 }.keys))
            for l in plan.launches where l.group.market == .spot {
                let pool = SpotPool(
                    region: "us-east-1",
                    availabilityZone: l.group.availabilityZone,
                    instanceType: l.group.instanceType
                )
                #expect(!state.isStorming(pool), "\(l.reason) into a storm")
            }
            if plan.budget.plannedUSDPerHour > input.allowance.fleetUSDPerHour + 1e-9 {
                #expect(plan.budget.overAllowance)
            }
        }
    }

    @Test("the spot share above the on-demand base stays within one node of the target")
    func spotShare() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, plan) = Self.run(shapes, level)
            for p in plan.clusters {
                let policy = input.policies[p.cluster]!
                let n = p.desiredNodeCount
                let base = min(policy.onDemandBase, n)
                let target = n > base ? Int((Double(n - base) * policy.targetSpotShare).rounded()) : 0
                #expect(abs(p.desiredCount(market: .spot) - target) <= 1, "\(p.cluster): \(p.desired)")
                #expect(p.desiredCount(market: .onDemand) >= base)
            }
        }
    }

    @Test("zones stay within one node of each other")
    func zoneBalance() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, plan) = Self.run(shapes, level)
            for p in plan.clusters {
                let zones = input.reports.first { $0.clusterID == p.cluster }!.availabilityZones
                let counts = zones.map { p.desiredCount(zone: $0) }
                #expect(counts.max()! - counts.min()! <= 1, "\(p.cluster): \(counts)")
            }
        }
    }

    @Test("a node drained to scale down has pods that fit on the nodes that stay; one drained for budget keeps floors")
    func safeDrains() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, plan) = Self.run(shapes, level)
            for p in plan.clusters where !p.drains.isEmpty {
                let report = input.reports.first { $0.clusterID == p.cluster }!
                let policy = input.policies[p.cluster]!
                // Budget drains leave their pods waiting by design (rule 3); they never cut under the floors.
                let forBudget = p.drains.filter { $0.reason.hasPrefix("budget") }
                if !forBudget.isEmpty {
                    #expect(p.desiredNodeCount >= policy.minNodes, "\(p.cluster): \(p.desired)")
                    #expect(p.desiredCount(market: .onDemand) >= min(policy.onDemandBase, p.desiredNodeCount))
                }
                let drained = Set(p.drains.filter { !$0.reason.hasPrefix("budget") }.map(\.nodeName))
                let budgetDrained = Set(forBudget.map(\.nodeName))
                var free = Resources.zero
                var moving = Resources.zero
                for n in report.nodes {
                    if drained.contains(n.name) {
                        #expect(!n.hasDrainBlockingPods && n.state == .ready)
                        moving += n.requested
                    } else if n.isActive && !budgetDrained.contains(n.name) {
                        free += n.allocatable - n.requested
                    }
                }
                #expect(moving.fits(in: free), "\(p.cluster): moving \(moving) into \(free)")
            }
        }
    }

    @Test("applying a plan and planning again neither repeats its launches nor reverses its actions")
    func noFlapping() async {
        await propertyCheck(count: 150, input: Self.fleetGen, Self.budgetGen) { shapes, level in
            let (input, _) = Self.build(shapes, budgetLevel: level)
            var state = PlannerState()
            let planner = FleetPlanner()
            let first = planner.plan(input, state: &state)
            // The fleet one minute later: launches are Ready and empty, drained nodes are gone and their pods
            // wait as pending pods; the budget is what it was.
            let later = input.now + .seconds(60)
            var reports: [ClusterReport] = []
            for r in input.reports {
                let p = first.plan(for: r.clusterID)!
                let drained = Set(p.drains.map(\.nodeName))
                var next = r
                next.observedAt = later
                next.nodes = r.nodes.filter { !drained.contains($0.name) }
                for n in r.nodes where drained.contains(n.name) { next.pending.totalRequests += n.requested }
                for (k, l) in p.launches.enumerated() {
                    for c in 0..<l.count {
                        let spec = F.catalog.specs[l.group.instanceType]!
                        next.nodes.append(
                            NodeReport(
                                name: "new-\(k)-\(c)",
                                instanceID: "i-new-\(k)-\(c)",
                                instanceType: l.group.instanceType,
                                market: l.group.market,
                                availabilityZone: l.group.availabilityZone,
                                state: .ready,
                                launchedAt: later,
                                allocatable: spec.estimatedAllocatable,
                                requested: .zero,
                                podCount: 0
                            )
                        )
                    }
                }
                reports.append(next)
            }
            var input2 = input
            input2.reports = reports
            input2.now = later
            let second = planner.plan(input2, state: &state)
            for p in first.clusters {
                let q = second.plan(for: p.cluster)!
                if !p.launches.isEmpty {
                    #expect(q.drains.isEmpty, "\(p.cluster) launched, then drained: \(q.reasons)")
                    if p.unfundedNodes == 0 { #expect(q.launches.isEmpty, "\(p.cluster) launched twice: \(q.reasons)") }
                }
                if !p.drains.isEmpty && p.unfundedNodes == 0 {
                    #expect(q.launches.isEmpty, "\(p.cluster) drained, then launched: \(p.reasons) / \(q.reasons)")
                }
            }
        }
    }
}
