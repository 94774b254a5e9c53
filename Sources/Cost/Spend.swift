// Spend accrual, budget state and budget alerts (SYSTEM.md §5).

/// What a spend figure or a budget is about.
public enum SpendScope: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case fleet
    case region(String)
    case cluster(ClusterID)

    public var description: String {
        switch self {
        case .fleet: "fleet"
        case .region(let r): "region \(r)"
        case .cluster(let c): "cluster \(c)"
        }
    }
    private var sortKey: (Int, String) {
        switch self {
        case .fleet: (0, "")
        case .region(let r): (1, r)
        case .cluster(let c): (2, c.rawValue)
        }
    }
    public static func < (a: SpendScope, b: SpendScope) -> Bool { a.sortKey < b.sortKey }
}

/// Spend of one scope in the current month.
public struct SpendSummary: Codable, Sendable, Hashable {
    public var scope: SpendScope
    /// Accrued since the start of the month (USD).
    public var monthToDateUSD: Double
    /// What the nodes running now cost per hour (USD/h).
    public var burnRateUSDPerHour: Double
    /// Month-to-date plus the burn rate for the hours left (USD).
    public var projectedMonthEndUSD: Double
    /// The scope's monthly budget, if it has one (USD).
    public var budgetUSD: Double?
}

/// A budget threshold crossed; emitted once per calendar month per scope, threshold and basis.
public struct BudgetAlert: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Basis: String, Codable, Sendable, Hashable {
        /// Month-to-date spend crossed the threshold.
        case spent
        /// The projected month-end spend crossed it (the early warning).
        case projected
    }
    public var scope: SpendScope
    public var month: CalendarMonth
    /// 0.8 or 1.0 of the budget.
    public var threshold: Double
    public var basis: Basis
    public var amountUSD: Double
    public var budgetUSD: Double

    public var description: String {
        let pct = Int((threshold * 100).rounded())
        let what = basis == .spent ? "spent" : "projected month-end spend"
        return "\(scope): \(what) \(usd(amountUSD)) reached \(pct) % of the \(month) budget \(usd(budgetUSD))"
    }
}

/// The hourly spend the budget allows now: the flat rate that spends what is left evenly over the hours left,
/// (budget − month-to-date) / hours left, plus what the month has saved so far (month-to-date under the budget's
/// pro-rata line) spread over the next `burstHours`. So a fleet whose demand peaks by day may spend by day what it
/// did not spend by night, and never more than the month's budget: the saving is spent at most once, and no rate
/// exceeds what is left over the next `burstHours` (or the hours left, if fewer).
public struct BudgetAllowance: Codable, Sendable, Hashable {
    public var fleetUSDPerHour: Double
    /// Regions with their own cap.
    public var regionalUSDPerHour: [String: Double]

    public init(fleetUSDPerHour: Double, regionalUSDPerHour: [String: Double] = [:]) {
        self.fleetUSDPerHour = fleetUSDPerHour
        self.regionalUSDPerHour = regionalUSDPerHour
    }

    /// No limit (for tests and for fleets without a budget).
    public static let unlimited = BudgetAllowance(fleetUSDPerHour: .infinity)

    /// The allowance from a budget and the month-to-date spend per scope at `now`. Hours left are counted to the
    /// end of the UTC month, with at least one hour so the last hour of the month still has a finite allowance.
    public init(budget: FleetBudget, monthToDate: (SpendScope) -> Double, at now: Timestamp) {
        let month = now.month
        let hoursLeft = max(1.0, (month.end - now).hours)
        let elapsed = max(0, min(1, (now - month.start).hours / month.hours))
        func rate(_ cap: Double, spent: Double) -> Double {
            let left = max(0, cap - spent)
            let saved = max(0, cap * elapsed - spent)
            return min(left / hoursLeft + saved / Self.burstHours, left / min(hoursLeft, Self.burstHours))
        }
        fleetUSDPerHour = rate(budget.monthlyUSD, spent: monthToDate(.fleet))
        regionalUSDPerHour = budget.regionalMonthlyUSD.mapValues { _ in 0 }
        for (region, cap) in budget.regionalMonthlyUSD {
            regionalUSDPerHour[region] = rate(cap, spent: monthToDate(.region(region)))
        }
    }

    /// Hours over which the month's saving so far may be spent above the flat rate.
    public static let burstHours = 12.0
}

/// Accrues spend per node-second at the price each node was launched at, per cluster, region and fleet.
///
/// Promise: a node is charged for each second between consecutive reports that list it, at the hourly price
/// fixed when the ledger first saw it (on-demand from the catalog; spot from the pool's price then, or the
/// on-demand price as an upper bound when no spot price is known). Spend crossing a month boundary is split
/// at the boundary; month-to-date restarts each UTC month.
public struct SpendLedger: Codable, Sendable, Hashable {
    struct Charge: Codable, Sendable, Hashable {
        var usdPerHour: Double
        var accruedUntil: Timestamp
    }

    /// The month the totals belong to.
    public private(set) var month: CalendarMonth?
    private var charges: [ClusterID: [String: Charge]] = [:]
    private var regionOf: [ClusterID: String] = [:]
    private var lastSeen: [ClusterID: Timestamp] = [:]
    private var totals: [SpendScope: Double] = [:]
    private var alerted: Set<AlertKey> = []

    struct AlertKey: Codable, Sendable, Hashable {
        var scope: SpendScope
        var threshold: Double
        var basis: BudgetAlert.Basis
    }

    public init() {}

    /// Charges the nodes of `report` up to its `observedAt`.
    public mutating func record(_ report: ClusterReport, catalog: PriceCatalog, spotPrices: SpotPriceCache) {
        let now = report.observedAt
        let cluster = report.clusterID
        if let seen = lastSeen[cluster], seen >= now { return }  // stale or duplicate report
        rollMonth(to: now)
        regionOf[cluster] = report.region
        var previous = charges[cluster] ?? [:]
        var current: [String: Charge] = [:]
        current.reserveCapacity(report.nodes.count)
        for node in report.nodes {
            var charge: Charge
            if let held = previous.removeValue(forKey: node.instanceID) {
                charge = held
            } else {
                let onDemand = catalog.onDemandUSDPerHour(region: report.region, instanceType: node.instanceType) ?? 0
                var price = onDemand
                if node.market == .spot {
                    let pool = SpotPool(
                        region: report.region,
                        availabilityZone: node.availabilityZone,
                        instanceType: node.instanceType
                    )
                    price = spotPrices.price(for: pool)?.usdPerHour ?? onDemand
                }
                // A node first seen now has run since its launch, or since this cluster's previous report if it
                // launched before that (it was charged then under another record only if listed).
                var from = node.launchedAt
                if let seen = lastSeen[cluster], seen > from { from = seen }
                charge = Charge(usdPerHour: price, accruedUntil: min(from, now))
            }
            add(
                charge.usdPerHour * (now - charge.accruedUntil).hours,
                cluster: cluster,
                region: report.region,
                from: charge.accruedUntil,
                now: now
            )
            charge.accruedUntil = now
            current[node.instanceID] = charge
        }
        // Nodes no longer listed were charged up to the last report that listed them.
        charges[cluster] = current
        lastSeen[cluster] = now
    }

    private mutating func add(_ usd: Double, cluster: ClusterID, region: String, from: Timestamp, now: Timestamp) {
        guard usd > 0, let month else { return }
        // The part before this month's start belongs to a closed month: drop it from month-to-date.
        var amount = usd
        if from < month.start {
            let span = (now - from).seconds
            amount = span > 0 ? usd * (now - month.start).seconds / span : 0
        }
        totals[.fleet, default: 0] += amount
        totals[.region(region), default: 0] += amount
        totals[.cluster(cluster), default: 0] += amount
    }

    private mutating func rollMonth(to now: Timestamp) {
        let m = now.month
        if month == nil {
            month = m
            return
        }
        if let month, m > month {
            self.month = m
            totals = [:]
            alerted = []
        }
    }

    /// What of the ledger is stored, so month-to-date survives a restart and a change of leader: the month, the
    /// totals, the budget alerts already given and when each cluster's nodes were last charged. The price each
    /// node was launched at is not kept (it is one entry per node): a node first seen after a restore is charged
    /// from its cluster's last stored charge at the price then.
    public struct Snapshot: Codable, Sendable, Hashable {
        public var month: CalendarMonth?
        var totals: [ScopeTotal]
        var alerted: [AlertKey]
        var lastCharged: [ClusterCharge]

        struct ScopeTotal: Codable, Sendable, Hashable {
            var scope: SpendScope
            var usd: Double
        }
        struct ClusterCharge: Codable, Sendable, Hashable {
            var cluster: ClusterID
            var region: String?
            var at: Timestamp
        }

        /// A ledger that starts `month` at `monthToDateUSD` per scope, with no alert given and no cluster charged
        /// yet: money spent before this coordinator counted (carried over from another system, or where a
        /// simulation starts the month).
        public init(month: CalendarMonth, monthToDateUSD: [SpendScope: Double]) {
            self.month = month
            totals = monthToDateUSD.map { ScopeTotal(scope: $0.key, usd: $0.value) }.sorted { $0.scope < $1.scope }
            alerted = []
            lastCharged = []
        }

        init(month: CalendarMonth?, totals: [ScopeTotal], alerted: [AlertKey], lastCharged: [ClusterCharge]) {
            self.month = month
            self.totals = totals
            self.alerted = alerted
            self.lastCharged = lastCharged
        }

        /// The stored fleet month-to-date (USD).
        public var fleetMonthToDateUSD: Double { totals.first { $0.scope == .fleet }?.usd ?? 0 }
    }

    /// The ledger as stored (sorted, so the same ledger is the same bytes).
    public var snapshot: Snapshot {
        Snapshot(
            month: month,
            totals: totals.map { Snapshot.ScopeTotal(scope: $0.key, usd: $0.value) }.sorted { $0.scope < $1.scope },
            alerted: alerted.sorted {
                ($0.scope, $0.threshold, $0.basis.rawValue) < ($1.scope, $1.threshold, $1.basis.rawValue)
            },
            lastCharged: lastSeen.map {
                Snapshot.ClusterCharge(cluster: $0.key, region: regionOf[$0.key], at: $0.value)
            }
            .sorted { $0.cluster < $1.cluster }
        )
    }

    /// Takes in a stored ledger. A later month than this ledger's replaces it; the same month merges, keeping for
    /// each scope the larger month-to-date (a budget is better over-counted than under), every alert either has
    /// given (so none is given twice), and the stored charge time of each cluster this ledger has not charged
    /// yet; an earlier month is ignored.
    public mutating func absorb(_ stored: Snapshot) {
        guard let storedMonth = stored.month else { return }
        if let month, storedMonth < month { return }
        if month == nil || storedMonth > month! {
            month = storedMonth
            totals = [:]
            alerted = []
            charges = [:]
            lastSeen = [:]
        }
        for t in stored.totals where t.usd > totals[t.scope] ?? 0 { totals[t.scope] = t.usd }
        alerted.formUnion(stored.alerted)
        for c in stored.lastCharged where lastSeen[c.cluster] == nil {
            lastSeen[c.cluster] = c.at
            if let region = c.region, regionOf[c.cluster] == nil { regionOf[c.cluster] = region }
        }
    }

    /// Month-to-date spend of a scope (USD).
    public func monthToDateUSD(_ scope: SpendScope) -> Double { totals[scope] ?? 0 }

    /// What the nodes last reported cost per hour in a scope (USD/h).
    public func burnRateUSDPerHour(_ scope: SpendScope) -> Double {
        var sum = 0.0
        for (cluster, nodes) in charges {
            switch scope {
            case .fleet: break
            case .region(let r): if regionOf[cluster] != r { continue }
            case .cluster(let c): if c != cluster { continue }
            }
            for charge in nodes.values { sum += charge.usdPerHour }
        }
        return sum
    }

    /// Month-to-date, burn rate and projection for a scope at `now`.
    public func summary(_ scope: SpendScope, budget: FleetBudget, at now: Timestamp) -> SpendSummary {
        let mtd = month == now.month ? monthToDateUSD(scope) : 0
        let burn = burnRateUSDPerHour(scope)
        let hoursLeft = max(0, (now.month.end - now).hours)
        let budgetUSD: Double? =
            switch scope {
            case .fleet: budget.monthlyUSD
            case .region(let r): budget.regionalMonthlyUSD[r]
            case .cluster: nil
            }
        return SpendSummary(
            scope: scope,
            monthToDateUSD: mtd,
            burnRateUSDPerHour: burn,
            projectedMonthEndUSD: mtd + burn * hoursLeft,
            budgetUSD: budgetUSD
        )
    }

    /// Every scope the ledger has spend for, with the budgeted ones first.
    public func summaries(budget: FleetBudget, at now: Timestamp) -> [SpendSummary] {
        var scopes = Set(totals.keys)
        scopes.insert(.fleet)
        for r in budget.regionalMonthlyUSD.keys { scopes.insert(.region(r)) }
        return scopes.sorted().map { summary($0, budget: budget, at: now) }
    }

    /// The hourly allowance for the rest of the month.
    public func allowance(budget: FleetBudget, at now: Timestamp) -> BudgetAllowance {
        BudgetAllowance(budget: budget, monthToDate: { self.month == now.month ? self.monthToDateUSD($0) : 0 }, at: now)
    }

    /// Alerts for thresholds (80 % and 100 %) newly crossed by spend or projection in the fleet and each capped
    /// region. Each is returned once per month; later calls in the same month stay quiet about it.
    public mutating func newAlerts(budget: FleetBudget, at now: Timestamp) -> [BudgetAlert] {
        rollMonth(to: now)
        var scopes: [(SpendScope, Double)] = [(.fleet, budget.monthlyUSD)]
        for (r, cap) in budget.regionalMonthlyUSD.sorted(by: { $0.key < $1.key }) { scopes.append((.region(r), cap)) }
        var alerts: [BudgetAlert] = []
        for (scope, cap) in scopes where cap > 0 {
            let s = summary(scope, budget: budget, at: now)
            for threshold in [0.8, 1.0] {
                for (basis, amount) in [
                    (BudgetAlert.Basis.projected, s.projectedMonthEndUSD), (.spent, s.monthToDateUSD),
                ]
                where amount >= threshold * cap {
                    let key = AlertKey(scope: scope, threshold: threshold, basis: basis)
                    if alerted.insert(key).inserted {
                        alerts.append(
                            BudgetAlert(
                                scope: scope,
                                month: now.month,
                                threshold: threshold,
                                basis: basis,
                                amountUSD: amount,
                                budgetUSD: cap
                            )
                        )
                    }
                }
            }
        }
        return alerts
    }
}

/// Formats USD for reasons and alerts: four decimals under $10 (hourly prices such as $0.0850), two above.
func usd(_ value: Double) -> String {
    if value.isInfinite { return "unlimited" }
    let digits = abs(value) < 10 ? 4 : 2
    let scale = digits == 4 ? 10_000 : 100
    let units = Int((value * Double(scale)).rounded())
    let sign = units < 0 ? "-" : ""
    let a = abs(units)
    var frac = String(a % scale)
    while frac.count < digits { frac = "0" + frac }
    return "\(sign)$\(a / scale).\(frac)"
}
