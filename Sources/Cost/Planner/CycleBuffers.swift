// Buffers and counts kept for a whole cycle, so a large fleet does not allocate them per cluster.

/// What a cycle builds once and every cluster reads: the offers of each region, the fresh spot prices of each zone
/// (indexed like the region's offers, so choosing a pool does no hashing), the zone tables clusters of a region
/// share, every cluster's active nodes in one array, the spot node counts and the working arrays the per-cluster
/// steps lend. Kept apart from the rules so they read as decisions, not as caching.
struct CycleTables {
    let catalog: PriceCatalog
    let spotPrices: SpotPriceCache
    let now: Timestamp
    let spotPriceMaxAge: Duration
    private var offersByRegion: [String: RegionOffers] = [:]
    private var spotByZone: [String: [SpotQuote]] = [:]
    private var tablesByRegion:
        [String: (zones: [String], tables: [(zone: String, quotes: [SpotQuote])], slots: [Int])] = [:]
    /// Spot nodes per pool this cycle, for the interruption rates (exposure).
    var spotNodes = SpotNodeCounts()
    /// Every cluster's active nodes in one array, each work record knowing where its own start: one growing
    /// allocation for the fleet instead of one per cluster, and nothing per cluster to free once the plan is built.
    var activeNodes: [ActiveNode] = []
    /// Buffers the per-cluster steps reuse, so a large fleet does not allocate them again for every cluster.
    var scratch = PlanScratch()

    init(input: PlannerInput, settings: PlannerSettings) {
        catalog = input.catalog
        spotPrices = input.spotPrices
        now = input.now
        spotPriceMaxAge = settings.spotPriceMaxAge
    }

    /// Hands the cluster its region's offer names and its zones' spot prices and count slots; returns the offers.
    mutating func prepare(_ w: inout ClusterWork) -> RegionOffers {
        let region = w.report.region
        let offers = offers(region)
        // Clusters of a region mostly list the same zones: share one table list between them.
        let zones = w.report.availabilityZones
        var tables: [(zone: String, quotes: [SpotQuote])]
        var slots: [Int]
        if let cached = tablesByRegion[region], cached.zones == zones {
            tables = cached.tables
            slots = cached.slots
        } else {
            tables = []
            tables.reserveCapacity(zones.count)
            slots = []
            for zone in zones {
                tables.append((zone, spotTable(region: region, zone: zone, offers: offers)))
                slots.append(spotNodes.slot(region: region, zone: zone, names: offers.names))
            }
            tablesByRegion[region] = (zones, tables, slots)
        }
        w.offerNames = offers.names
        w.zoneSpotPrices = tables
        w.zoneSlots = slots
        return offers
    }

    /// Every priced type of the region, and the default set (no burstables); built once per region per cycle.
    private mutating func offers(_ region: String) -> RegionOffers {
        if let o = offersByRegion[region] { return o }
        var all: [TypeOffer] = []
        for spec in catalog.instanceTypes(in: region) {
            guard let p = catalog.onDemandUSDPerHour(region: region, instanceType: spec.name) else {
                continue
            }
            all.append(
                TypeOffer(
                    spec: spec,
                    allocatable: spec.estimatedAllocatable,
                    onDemandUSDPerHour: p,
                    index: all.count
                )
            )
        }
        // Burstable families (t3, t3a) sustain only a fraction of their vCPUs; they are used when a policy names them.
        let o = RegionOffers(
            all: all,
            standard: all.filter { !$0.spec.family.hasPrefix("t") },
            names: all.map(\.spec.name)
        )
        offersByRegion[region] = o
        return o
    }

    /// Fresh spot prices of one zone, indexed like the region's offers; built once per zone per cycle.
    private mutating func spotTable(region: String, zone: String, offers: RegionOffers) -> [SpotQuote] {
        if let t = spotByZone[zone] { return t }
        let t = offers.all.map { o -> SpotQuote in
            guard
                let p = spotPrices.price(
                    for: SpotPool(region: region, availabilityZone: zone, instanceType: o.spec.name)
                )
            else {
                return SpotQuote(usdPerHour: -1, fresh: false)
            }
            return SpotQuote(usdPerHour: p.usdPerHour, fresh: now - p.observedAt <= spotPriceMaxAge)
        }
        spotByZone[zone] = t
        return t
    }
}

/// Working arrays the per-cluster steps need only while they run. One set serves a whole cycle: each step lends an
/// array out (emptied, its storage kept) and puts it back when done, so a fleet of thousands of clusters does not
/// allocate and free them once per cluster.
struct PlanScratch {
    var typeMemo: [(type: String, index: Int)] = []
    var zoneCount: [Int] = []
    var flags: [Bool] = []
    var sinceOf: [Timestamp] = []
    var candidates: [RemovalCandidate] = []
}

extension Array {
    /// The array's value, moved out and replaced by an empty array, without touching its reference count.
    mutating func take() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self)
        return taken
    }

    /// This array's storage, emptied, leaving an empty array in its place: the lender holds no reference meanwhile,
    /// so appending to the loan copies nothing. Put it back by assigning it when done.
    mutating func lend() -> [Element] {
        var loan: [Element] = []
        swap(&loan, &self)
        loan.removeAll(keepingCapacity: true)
        return loan
    }

    /// A loan (see `lend()`) holding `count` copies of `value`.
    mutating func lend(filledWith value: Element, count: Int) -> [Element] {
        var loan = lend()
        loan.append(contentsOf: repeatElement(value, count: count))
        return loan
    }
}

/// Spot nodes per pool in one cycle, counted by zone slot and offer index while the planner walks the nodes anyway,
/// so no pool key is built or hashed per node; `store` hands them to the pools' interruption rates.
struct SpotNodeCounts {
    var slots: [(region: String, zone: String, names: [String])] = []
    var counts: [[Int]] = []
    var slotOfZone: [String: Int] = [:]
    /// Nodes whose type or zone is outside the per-cycle tables.
    var others: [SpotPool: Int] = [:]

    mutating func slot(region: String, zone: String, names: [String]) -> Int {
        if let s = slotOfZone[zone] { return s }
        slots.append((region, zone, names))
        counts.append([Int](repeating: 0, count: names.count))
        slotOfZone[zone] = slots.count - 1
        return slots.count - 1
    }

    /// Sets every pool's spot node count to this cycle's, so the next cycle credits their exposure.
    func store(in state: inout PlannerState, now: Timestamp) {
        for i in state.poolRates.indices { state.poolRates.values[i].spotNodes = 0 }
        for (s, slot) in slots.enumerated() {
            for (t, n) in counts[s].enumerated() where n > 0 {
                let pool = SpotPool(region: slot.region, availabilityZone: slot.zone, instanceType: slot.names[t])
                state.poolRates[pool, default: PoolInterruptionRate()].spotNodes += n
            }
        }
        for (pool, n) in others { state.poolRates[pool, default: PoolInterruptionRate()].spotNodes += n }
        state.exposureAsOf = max(state.exposureAsOf ?? now, now)
    }
}
