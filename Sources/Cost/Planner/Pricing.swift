// Prices: what each running node costs (walking the cluster's nodes once per cycle), and the instance types that
// cover a shortfall most cheaply.

extension FleetPlanner {
    /// Walks the cluster's nodes once: which count as capacity (active, no interruption notice; interrupted ones
    /// are on their way out), what each costs per hour and where it sits in the zones and offers (appended to the
    /// cycle's active nodes), and the spot nodes each pool runs (for the interruption rates). Returns the requests
    /// of running and pending pods and the number of nodes already leaving.
    func survey(
        _ w: inout ClusterWork,
        offers: RegionOffers,
        input: PlannerInput,
        cycle: inout CycleTables
    ) -> (requested: Resources, leaving: Int, measured: Resources) {
        let report = w.report
        let policy = w.policy
        let nodes = report.nodes
        var interrupted: Set<String> = []
        if !report.notices.isEmpty {
            for n in report.notices where n.kind == .interruption { interrupted.insert(n.nodeName) }
        }
        var requested = report.pending.totalRequests
        var capacity = Resources.zero
        var leaving = 0
        // What the utilisation is measured over: Ready nodes backed by an instance, draining ones included (their
        // pods still run).
        var measured = Resources.zero
        let names = w.offerNames
        let spotTables = w.zoneSpotPrices
        w.active.reserveCapacity(nodes.count)
        w.activeStart = cycle.activeNodes.count
        // The zones are needed per node below (each node's zone is looked up once here, not in every later pass).
        w.zones =
            (policy.allowedZones.isEmpty
                ? report.availabilityZones : report.availabilityZones.filter { policy.allowedZones.contains($0) })
        if w.zones.isEmpty { w.zones = report.availabilityZones }
        let zones = w.zones
        // The spot price tables follow the reported zones; when the cluster may use all of them (the usual case)
        // one scan of the zone names serves both.
        let zonesAreReported = zones == report.availabilityZones
        var typeMemo = cycle.scratch.typeMemo.lend()
        defer { cycle.scratch.typeMemo = typeMemo }
        // A silent cluster's nodes may be gone and its interruptions would not be seen: no exposure from them.
        let exposed = !w.status.isDown
        // Indexing rather than iterating: the iterator would copy every node record.
        for i in nodes.indices {
            requested += nodes[i].requested
            let state = nodes[i].state
            if (state == .ready || state == .draining) && !nodes[i].instanceID.isEmpty {
                measured += nodes[i].allocatable
            }
            // The state alone, not `isActive` on the record: calling that copies the whole node record.
            if nodes[i].state.isActive && (interrupted.isEmpty || !interrupted.contains(nodes[i].name)) {
                w.active.append(i)
                capacity += nodes[i].allocatable
                // Clusters run few types: remember where each sits in the offer list.
                let type = nodes[i].instanceType
                var t = typeMemo.first { $0.type == type }?.index
                if t == nil, let found = names.firstIndex(of: type) {
                    t = found
                    typeMemo.append((type, found))
                }
                let market = nodes[i].market
                let reportedZone = report.availabilityZones.firstIndex(of: nodes[i].availabilityZone)
                let zoneIndex = zonesAreReported ? reportedZone : zones.firstIndex(of: nodes[i].availabilityZone)
                var z: Int? = nil
                if market == .spot {
                    z = reportedZone
                    if exposed {
                        if let t, let z {
                            cycle.spotNodes.counts[w.zoneSlots[z]][t] += 1
                        } else {
                            cycle.spotNodes.others[
                                SpotPool(
                                    region: report.region,
                                    availabilityZone: nodes[i].availabilityZone,
                                    instanceType: type
                                ),
                                default: 0
                            ] += 1
                        }
                    }
                }
                let hourly = price(
                    type: type,
                    typeIndex: t,
                    zoneIndex: z,
                    market: market,
                    zone: nodes[i].availabilityZone,
                    region: report.region,
                    names: names,
                    spotTables: spotTables,
                    offers: offers,
                    input: input
                )
                cycle.activeNodes.append(ActiveNode(usdPerHour: hourly, zone: zoneIndex ?? -1, offer: t ?? -1))
            } else {
                leaving += 1
            }
        }
        w.capacity = capacity
        w.keptCost = cycle.activeNodes[w.activeStart...].reduce(0) { $0 + $1.usdPerHour }
        return (requested, leaving, measured)
    }

    /// A running node's hourly price: through the per-cycle tables (a short scan of small strings, no hashing),
    /// falling back to the catalog and the cache for types or zones outside them.
    func price(
        type: String,
        typeIndex: Int? = nil,
        zoneIndex: Int? = nil,
        market: Market,
        zone: String,
        region: String,
        names: [String],
        spotTables: [(zone: String, quotes: [SpotQuote])],
        offers: RegionOffers,
        input: PlannerInput
    ) -> Double {
        guard let t = typeIndex ?? names.firstIndex(of: type) else {
            return nodePrice(type: type, market: market, zone: zone, region: region, input: input)
        }
        let od = offers.all[t].onDemandUSDPerHour
        guard market == .spot else { return od }
        guard let z = zoneIndex ?? spotTables.firstIndex(where: { $0.zone == zone }) else {
            return nodePrice(type: type, market: market, zone: zone, region: region, input: input)
        }
        let q = spotTables[z].quotes[t]
        return q.usdPerHour > 0 ? q.usdPerHour : od
    }

    func nodePrice(type: String, market: Market, zone: String, region: String, input: PlannerInput) -> Double {
        let od = input.catalog.onDemandUSDPerHour(region: region, instanceType: type) ?? 0
        guard market == .spot else { return od }
        let pool = SpotPool(region: region, availabilityZone: zone, instanceType: type)
        return input.spotPrices.price(for: pool)?.usdPerHour ?? od
    }

}

/// The latest spot price of a pool, and whether it is fresh enough to launch on.
struct SpotQuote: Sendable {
    var usdPerHour: Double
    var fresh: Bool
}

/// The instance types priced in one region: all of them, and the default set for policies that name none.
struct RegionOffers: Sendable {
    var all: [TypeOffer]
    var standard: [TypeOffer]
    var names: [String]
}

/// An instance type as the planner sees it in one region.
struct TypeOffer: Sendable {
    var spec: InstanceSpec
    var allocatable: Resources
    var onDemandUSDPerHour: Double
    /// Position in the region's list of offers (indexes the per-zone spot price tables).
    var index: Int

    /// Capacity in the dimension that is short: vCPUs or GiB.
    func units(memory: Bool) -> Double {
        memory ? Double(allocatable.memoryBytes) / Double(Resources.gibibyte) : Double(allocatable.cpuMillicores) / 1000
    }
}

extension TypeOffer {
    /// The type that covers `shortfall` for the least money (whole nodes, both dimensions); ties go to the
    /// cheaper per unit of the short dimension, then to the smaller type.
    static func cheapestToCover(_ shortfall: Resources, _ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
        var best: TypeOffer?
        var bestKey = (Double.infinity, Double.infinity, Int.max)
        for o in offers {
            let n = max(
                (shortfall.cpuMillicores + o.allocatable.cpuMillicores - 1) / max(1, o.allocatable.cpuMillicores),
                (shortfall.memoryBytes + o.allocatable.memoryBytes - 1) / max(1, o.allocatable.memoryBytes)
            )
            let key = (
                (Double(n) * o.onDemandUSDPerHour * 1e6).rounded(),
                (o.onDemandUSDPerHour / o.units(memory: memory) * 1e9).rounded(), o.allocatable.cpuMillicores
            )
            if key < bestKey {
                best = o
                bestKey = key
            }
        }
        return best
    }

    /// The type with the lowest on-demand price per unit of the short dimension; ties go to the smaller type.
    static func cheapestPerUnit(_ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
        var best: TypeOffer?
        var bestScore = Double.infinity
        for o in offers {
            let s = o.onDemandUSDPerHour / o.units(memory: memory)
            // Ties go to the smaller type: finer steps, less waste.
            if s < bestScore - 1e-12
                || (abs(s - bestScore) <= 1e-12
                    && o.allocatable.cpuMillicores < (best?.allocatable.cpuMillicores ?? .max))
            {
                best = o
                bestScore = s
            }
        }
        return best
    }
}

extension LaunchPlacement {
    /// Rule 4's pool choice in one zone: among the types with a fresh spot price, outside storms and back-off, the
    /// lowest effective price per unit of the short dimension, price × (1 + riskWeight × risk) × (1 +
    /// poolConcentrationPenalty × the share of the cluster's spot nodes already in the pool), so spot spreads over
    /// several pools. Ties (sizes of one family cost the same per unit) go to the smaller type.
    func cheapestSpotPool(
        region: String,
        zone: String,
        quotes: [SpotQuote],
        among substitutes: [TypeOffer],
        memory: Bool,
        poolUse: [Int],
        poolBase: Int,
        spotTotal: Int
    ) -> (offer: TypeOffer, usdPerHour: Double)? {
        var best: (TypeOffer, Double, Double)? = nil
        for o in substitutes {
            let quote = quotes[o.index]
            guard quote.fresh else { continue }
            let price = quote.usdPerHour
            var risk = settings.defaultInterruptionRisk
            if checkPools {
                let pool = SpotPool(region: region, availabilityZone: zone, instanceType: o.spec.name)
                if !storming.isEmpty && storming.contains(pool) { continue }
                if let until = backedOffUntil(pool, market: .spot), until > now { continue }
                risk = interruptionRisk[pool] ?? risk
            }
            let share = spotTotal > 0 ? Double(poolUse[poolBase + o.index]) / Double(spotTotal) : 0
            let score =
                price / o.units(memory: memory) * (1 + settings.riskWeight * risk)
                * (1 + settings.poolConcentrationPenalty * share)
            if best == nil || score < best!.2 * (1 - 1e-9)
                || (score <= best!.2 * (1 + 1e-9) && o.allocatable.cpuMillicores < best!.0.allocatable.cpuMillicores)
            {
                best = (o, price, score)
            }
        }
        return best.map { (offer: $0.0, usdPerHour: $0.1) }
    }

    /// The on-demand type for one zone: the cheapest per unit among those not backed off there (the reference
    /// type unless it is).
    func cheapestOnDemand(region: String, zone: String, among substitutes: [TypeOffer], memory: Bool) -> TypeOffer? {
        let usable =
            !checkPools
            ? substitutes
            : substitutes.filter { o in
                let pool = SpotPool(region: region, availabilityZone: zone, instanceType: o.spec.name)
                if let until = backedOffUntil(pool, market: .onDemand), until > now { return false }
                return true
            }
        return TypeOffer.cheapestPerUnit(usable, memory: memory)
    }
}
