import Coordinator
import Cost
import Scenarios
import Synchronization

/// The spot market of a simulation run: each pool (region, zone, type) trades at a steady discount to its
/// on-demand price (55–72 % off, fixed per pool, as `SimulatedSpotMarket`), wanders by the scenario's volatility
/// over a day, and is multiplied by every price-change event that has matched it so far. The coordinator reads it
/// as its `SpotPriceSource`; every policy is billed from it.
///
/// Promise: the same pool at the same time and the same events give the same price.
public final class ScenarioMarket: SpotPriceSource {
    private let catalog: PriceCatalog
    private let volatility: Double
    private let factors = Mutex<[(region: String?, zone: String?, type: String?, factor: Double)]>([])
    private let known = Mutex<[SpotPool: (onDemand: Double, discount: Double, phase: Double)]>([:])

    public init(catalog: PriceCatalog, volatility: Double) {
        self.catalog = catalog
        self.volatility = volatility
    }

    /// From now on, pools that match (nil matches all) cost `factor` times more on spot.
    public func change(region: String?, zone: String?, instanceType: String?, factor: Double) {
        factors.withLock { $0.append((region, zone, instanceType, factor)) }
    }

    public func onDemandUSDPerHour(region: String, instanceType: String) -> Double {
        catalog.onDemandUSDPerHour(region: region, instanceType: instanceType) ?? 0
    }

    /// The spot price of a pool at `now`, USD per hour.
    public func spotUSDPerHour(_ pool: SpotPool, at now: Timestamp) -> Double {
        let (onDemand, discount, phase) = terms(of: pool)
        let dayFraction = Double(now.millisecondsSinceEpoch % 86_400_000) / 86_400_000
        let drift = volatility * SimulatedSpotMarket.sine(2 * Double.pi * (dayFraction + phase))
        var price = onDemand * (1 - discount) * (1 + drift)
        for change in factors.withLock({ $0 })
        where (change.region ?? pool.region) == pool.region
            && (change.zone ?? pool.availabilityZone) == pool.availabilityZone
            && (change.type ?? pool.instanceType) == pool.instanceType
        {
            price *= change.factor
        }
        return (price * 10_000).rounded() / 10_000
    }

    /// A pool's on-demand price and its fixed discount and phase, worked out once.
    private func terms(of pool: SpotPool) -> (onDemand: Double, discount: Double, phase: Double) {
        if let known = known.withLock({ $0[pool] }) { return known }
        let onDemand = onDemandUSDPerHour(region: pool.region, instanceType: pool.instanceType)
        let seed = SimulatedSpotMarket.stableHash("\(pool.region)/\(pool.availabilityZone)/\(pool.instanceType)")
        let terms = (onDemand, 0.55 + 0.17 * Double(seed % 1_000) / 1_000, Double((seed / 1_000) % 1_000) / 1_000)
        known.withLock { $0[pool] = terms }
        return terms
    }

    public func prices(for pools: [SpotPool], at now: Timestamp) async throws -> [SpotPool: Double] {
        var prices: [SpotPool: Double] = [:]
        for pool in pools where catalog.onDemandUSDPerHour(region: pool.region, instanceType: pool.instanceType) != nil
        {
            prices[pool] = spotUSDPerHour(pool, at: now)
        }
        return prices
    }
}
