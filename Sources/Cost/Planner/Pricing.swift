// Prices of running nodes and the instance type that covers a shortfall most cheaply.

extension FleetPlanner {
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

    /// The type that covers `shortfall` for the least money (whole nodes, both dimensions); ties go to the
    /// cheaper per unit of the short dimension, then to the smaller type.
    func cheapestToCover(_ shortfall: Resources, _ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
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

    func cheapestPerUnit(_ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
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
