// Buffers and counts kept for a whole cycle, so a large fleet does not allocate them per cluster.

/// Working arrays the per-cluster steps need only while they run. One set serves a whole cycle: each step lends an
/// array out (emptied, its storage kept) and puts it back when done, so a fleet of thousands of clusters does not
/// allocate and free them once per cluster.
struct PlanScratch {
    var typeMemo: [(type: String, index: Int)] = []
    var zoneCount: [Int] = []
    var poolUse: [Int] = []
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
