// Rule 3: when the plan costs more than the hourly allowance, keep floors, then fund launches by priority class
// and, within a class, by weight. When even the running nodes cost more than the allowance (the budget was cut,
// the month ran hot), nodes above the floors are drained, lowest priority class first, within each cluster's
// disruption budget, until what runs fits; their pods wait. The shortfall is reported, never hidden.

extension FleetPlanner {
    /// Rule 3 over the whole fleet: each regional cap on its region's clusters (regions in name order), then the
    /// fleet allowance on every cluster.
    func budget(
        _ works: inout [ClusterWork],
        input: PlannerInput,
        state: PlannerState,
        placement: consuming LaunchPlacement,
        activeNodes: [ActiveNode],
        reasons: inout [String]
    ) {
        var squeeze = BudgetSqueeze(placement: placement, activeNodes: activeNodes)
        // A cluster rule 3 drained for money lately grows no further until the delay after it has passed.
        for i in works.indices where works[i].growth.chosen > works[i].growth.floorLaunches {
            guard let drained = state.lastBudgetDrainAt[works[i].report.clusterID],
                input.now - drained < works[i].policy.scaleDownDelayAfterAdd
            else { continue }
            squeeze.setCount(&works[i], works[i].growth.floorLaunches, scope: "fleet")
            works[i].reasons.append(
                "budget: running nodes were drained for money at \(drained); no growth within \(Int(works[i].policy.scaleDownDelayAfterAdd.seconds / 60)) min"
            )
        }
        for (region, allowance) in input.allowance.regionalUSDPerHour.sorted(by: { $0.key < $1.key }) {
            let members = works.indices.filter { works[$0].report.region == region }
            squeeze.apply(
                to: members,
                allowance: allowance,
                scope: "region \(region)",
                works: &works,
                reasons: &reasons
            )
        }
        squeeze.apply(
            to: Array(works.indices),
            allowance: input.allowance.fleetUSDPerHour,
            scope: "fleet",
            works: &works,
            reasons: &reasons
        )
    }
}

struct BudgetSqueeze {
    /// The cycle's launch placement, the one the planner used for the counts each cluster wanted: a smaller count
    /// is placed by the same rules (pool back-offs and storms shape which launches a count buys).
    var placement: LaunchPlacement
    /// The cycle's active nodes, as `ClusterWork.activeStart` indexes them.
    let activeNodes: [ActiveNode]

    /// The launches and their hourly cost if the cluster gets `k` new nodes.
    private mutating func launches(_ w: borrowing ClusterWork, _ k: Int) -> ([LaunchOrder], Double) {
        var ignored: [String] = []
        return placement.launches(w, count: k, activeNodes: activeNodes, notes: &ignored)
    }

    mutating func apply(
        to members: [Int],
        allowance: Double,
        scope: String,
        works: inout [ClusterWork],
        reasons: inout [String]
    ) {
        guard allowance.isFinite, !members.isEmpty else { return }
        var total = 0.0
        for i in members { total += works[i].keptCost + works[i].growth.launchCost }
        if total <= allowance + 1e-9 { return }

        var committed = 0.0
        for i in members {
            if works[i].growth.floorLaunches > 0 && works[i].growth.floorCost == 0 {
                works[i].growth.floorCost = launches(works[i], works[i].growth.floorLaunches).1
            }
            committed += works[i].keptCost + works[i].growth.floorCost
        }
        var remaining = allowance - committed
        var line =
            "budget squeeze (\(scope)): the plan wants \(usd(total))/h, the allowance is \(usd(allowance))/h; running nodes and floors take \(usd(committed))/h"
        let growing = members.filter { works[$0].growth.chosen > works[$0].growth.floorLaunches }
        if remaining <= 0 {
            line += "; nothing is left for growth"
            for i in growing { setCount(&works[i], works[i].growth.floorLaunches, scope: scope) }
            if remaining < -1e-9 {
                let shed = shedRunning(members, excess: -remaining, scope: scope, works: &works)
                if shed > 0 { line += "; nodes above the floors are drained to save \(usd(shed))/h" }
            }
            for i in members where works[i].growth.floorLaunches > 0 {
                works[i].reasons.append(
                    "budget (\(scope)): floor of \(works[i].policy.minNodes) nodes kept although it exceeds the allowance"
                )
            }
            reasons.append(line)
            return
        }
        line += "; \(usd(remaining))/h is shared by priority class, then weight"
        reasons.append(line)

        let classes = Set(growing.map { works[$0].policy.priorityClass }).sorted(by: >)
        var starved = false
        for cls in classes {
            let inClass = growing.filter { works[$0].policy.priorityClass == cls }
            if starved {
                for i in inClass { setCount(&works[i], works[i].growth.floorLaunches, scope: scope) }
                continue
            }
            let want = inClass.map { works[$0].growth.launchCost - works[$0].growth.floorCost }
            let sumWant = want.reduce(0, +)
            if sumWant <= remaining + 1e-9 {
                remaining -= sumWant
                reasons.append("budget (\(scope)): class \(cls) fully funded (\(usd(sumWant))/h)")
                continue
            }
            let grants = waterFill(wants: want, weights: inClass.map { works[$0].policy.weight }, amount: remaining)
            var leftover = 0.0
            for (n, i) in inClass.enumerated() {
                var k = works[i].growth.chosen
                var spent = works[i].growth.launchCost - works[i].growth.floorCost
                while k > works[i].growth.floorLaunches && spent > grants[n] + 1e-9 {
                    k -= 1
                    spent = launches(works[i], k).1 - works[i].growth.floorCost
                }
                leftover += grants[n] - spent
                setCount(&works[i], k, scope: scope)
            }
            // What rounding to whole nodes left over funds one more node where it still fits, heaviest weight first.
            for i in inClass.sorted(by: {
                (works[$0].policy.weight, works[$1].report.clusterID) > (
                    works[$1].policy.weight, works[$0].report.clusterID
                )
            }) {
                while works[i].growth.chosen < works[i].growth.wanted {
                    let (_, c) = launches(works[i], works[i].growth.chosen + 1)
                    guard c - works[i].growth.launchCost <= leftover + 1e-9 else { break }
                    leftover -= c - works[i].growth.launchCost
                    setCount(&works[i], works[i].growth.chosen + 1, scope: scope)
                }
            }
            reasons.append(
                "budget (\(scope)): class \(cls) shares \(usd(remaining))/h by weight; lower classes get no growth"
            )
            remaining = 0
            starved = true
        }
    }

    /// Drains running nodes above the floors until they save `excess` an hour: lowest priority class first, then
    /// lightest weight; in a cluster the costliest nodes first, never below `minNodes` nor under the on-demand base,
    /// at most the cluster's disruption budget at once (counting drains already chosen this cycle). Returns what
    /// the drains save an hour.
    private func shedRunning(_ members: [Int], excess: Double, scope: String, works: inout [ClusterWork]) -> Double {
        // What this cycle's scale-down drains already saves counts first.
        var saved = 0.0
        for i in members {
            for j in works[i].drains { saved += activeNodes[works[i].activeStart + j].usdPerHour }
        }
        let order = members.sorted {
            let a = works[$0]
            let b = works[$1]
            return (a.policy.priorityClass, a.policy.weight, b.report.clusterID)
                < (b.policy.priorityClass, b.policy.weight, a.report.clusterID)
        }
        for i in order where saved < excess - 1e-9 && works[i].status == .planned {
            let policy = works[i].policy
            let draining = Set(works[i].drains)
            var kept = works[i].active.count - draining.count
            var onDemandKept = 0
            for (j, node) in works[i].active.enumerated() where !draining.contains(j) {
                if works[i].report.nodes[node].market == .onDemand { onDemandKept += 1 }
            }
            let room =
                max(1, Int(Double(works[i].active.count) * policy.disruptionBudget)) - draining.count
            guard room > 0 else { continue }
            var candidates = works[i].active.indices.filter {
                let node = works[i].report.nodes[works[i].active[$0]]
                return !draining.contains($0) && node.state == .ready && !node.hasDrainBlockingPods
            }
            // Kept nodes per zone: each drain comes from the zone with the most, so the spread holds.
            var perZone: [String: Int] = [:]
            for (j, node) in works[i].active.enumerated() where !draining.contains(j) {
                perZone[works[i].report.nodes[node].availabilityZone, default: 0] += 1
            }
            var added = 0
            while saved < excess - 1e-9 && added < room && kept > policy.minNodes {
                let eligible = candidates.filter {
                    let node = works[i].report.nodes[works[i].active[$0]]
                    return node.market != .onDemand || onDemandKept > policy.onDemandBase
                }
                let pick = eligible.max { a, b in
                    let na = works[i].report.nodes[works[i].active[a]]
                    let nb = works[i].report.nodes[works[i].active[b]]
                    let ka = (perZone[na.availabilityZone] ?? 0, activeNodes[works[i].activeStart + a].usdPerHour)
                    let kb = (perZone[nb.availabilityZone] ?? 0, activeNodes[works[i].activeStart + b].usdPerHour)
                    return ka != kb ? ka < kb : na.name > nb.name
                }
                guard let j = pick else { break }
                candidates.removeAll { $0 == j }
                let node = works[i].report.nodes[works[i].active[j]]
                let cost = activeNodes[works[i].activeStart + j].usdPerHour
                works[i].drains.append(j)
                works[i].drainReasons.append(
                    "budget (\(scope)): the running nodes cost more than the allowance; \(usd(cost))/h drained, its \(node.podCount) pod(s) wait"
                )
                saved += cost
                kept -= 1
                added += 1
                perZone[node.availabilityZone, default: 1] -= 1
                if node.market == .onDemand { onDemandKept -= 1 }
            }
        }
        return saved
    }

    mutating func setCount(_ w: inout ClusterWork, _ k: Int, scope: String) {
        guard k != w.growth.chosen else { return }
        let wantedCost = w.growth.unfundedUSD + w.growth.launchCost
        w.growth.chosen = k
        (w.growth.launches, w.growth.launchCost) = launches(w, k)
        w.growth.unfundedUSD = max(0, wantedCost - w.growth.launchCost)
        if let last = w.reasons.last, last.hasPrefix("budget (\(scope)): funds") { w.reasons.removeLast() }
        w.reasons.append(
            "budget (\(scope)): funds \(k) of \(w.growth.wanted) wanted node(s); shortfall \(w.growth.wanted - k) node(s), \(usd(w.growth.unfundedUSD))/h"
        )
    }
}

/// Splits `amount` in proportion to `weights`, never giving anyone more than it wants; what a capped share
/// leaves is split again among the rest. O(n log n): in order of want per weight, each is either capped (it
/// wants less than its share of what is left) or, from the first that is not, all the rest share by weight.
func waterFill(wants: [Double], weights: [Double], amount: Double) -> [Double] {
    var grants = [Double](repeating: 0, count: wants.count)
    let order = wants.indices.sorted { wants[$0] / weights[$0] < wants[$1] / weights[$1] }
    var left = max(0, amount)
    var weightLeft = weights.reduce(0, +)
    for (position, i) in order.enumerated() {
        guard weightLeft > 0 else { break }
        let share = left * weights[i] / weightLeft
        if wants[i] <= share {
            grants[i] = wants[i]
            left -= wants[i]
            weightLeft -= weights[i]
        } else {
            // Everyone from here on wants more than its share: split what is left by weight.
            for j in order[position...] { grants[j] = left * weights[j] / weightLeft }
            break
        }
    }
    return grants
}
