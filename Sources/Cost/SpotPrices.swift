/// A spot capacity pool: one instance type in one availability zone of one region.
public struct SpotPool: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var region: String
    public var availabilityZone: String
    public var instanceType: String

    public init(region: String, availabilityZone: String, instanceType: String) {
        self.region = region
        self.availabilityZone = availabilityZone
        self.instanceType = instanceType
    }

    public static func < (a: SpotPool, b: SpotPool) -> Bool {
        (a.region, a.availabilityZone, a.instanceType) < (b.region, b.availabilityZone, b.instanceType)
    }
    public var description: String { "\(instanceType)@\(availabilityZone)" }
}

/// One observed spot price.
public struct SpotPrice: Codable, Sendable, Hashable {
    public var usdPerHour: Double
    /// When EC2 reported it (DescribeSpotPriceHistory `Timestamp`).
    public var observedAt: Timestamp

    public init(usdPerHour: Double, observedAt: Timestamp) {
        self.usdPerHour = usdPerHour
        self.observedAt = observedAt
    }
}

/// The latest spot price per pool, as fed from DescribeSpotPriceHistory.
///
/// Promise: keeps the newest observation per pool (an older one arriving late never replaces it) and reports
/// how old each price is, so the planner can distrust stale prices.
public struct SpotPriceCache: Codable, Sendable, Hashable {
    private var entries: [SpotPool: SpotPrice] = [:]

    public init() {}

    /// Records an observation unless a newer one is already held. Non-positive prices are ignored (EC2 never
    /// reports them; a zero would make a pool look free).
    public mutating func record(_ price: SpotPrice, for pool: SpotPool) {
        guard price.usdPerHour > 0 else { return }
        if let held = entries[pool], held.observedAt > price.observedAt { return }
        entries[pool] = price
    }

    public func price(for pool: SpotPool) -> SpotPrice? { entries[pool] }

    /// The price if it is no older than `maxAge` at `now`.
    public func freshPrice(for pool: SpotPool, at now: Timestamp, maxAge: Duration) -> Double? {
        guard let p = entries[pool], now - p.observedAt <= maxAge else { return nil }
        return p.usdPerHour
    }

    /// How old the held price is at `now`, or nil when none is held.
    public func age(of pool: SpotPool, at now: Timestamp) -> Duration? {
        entries[pool].map { now - $0.observedAt }
    }

    public var count: Int { entries.count }
    public var pools: [SpotPool] { entries.keys.sorted() }
}
