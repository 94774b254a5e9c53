import Coordinator
import Cost

/// Spot prices for simulated fleets: each pool trades at a steady discount to its on-demand price, between 55 %
/// and 72 % off, fixed per pool (so pools differ and the planner has a cheapest one to prefer), moving by up to
/// ±3 % over a day. Deterministic: the same pool and time always give the same price.
public struct SimulatedSpotMarket: SpotPriceSource {
    private let catalog: PriceCatalog

    public init(catalog: PriceCatalog) {
        self.catalog = catalog
    }

    public func prices(for pools: [SpotPool], at now: Timestamp) async throws -> [SpotPool: Double] {
        var prices: [SpotPool: Double] = [:]
        let dayFraction = Double(now.millisecondsSinceEpoch % 86_400_000) / 86_400_000
        for pool in pools {
            guard let onDemand = catalog.onDemandUSDPerHour(region: pool.region, instanceType: pool.instanceType) else {
                continue
            }
            let seed = Self.stableHash("\(pool.region)/\(pool.availabilityZone)/\(pool.instanceType)")
            let discount = 0.55 + 0.17 * Double(seed % 1_000) / 1_000
            let phase = Double((seed / 1_000) % 1_000) / 1_000
            let drift = 0.03 * Self.sine(2 * Double.pi * (dayFraction + phase))
            prices[pool] = (onDemand * (1 - discount) * (1 + drift) * 10_000).rounded() / 10_000
        }
        return prices
    }

    /// FNV-1a: stable across runs and platforms, unlike `Hasher`.
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A sine good to a few parts in a thousand, without Foundation (Cost and Simulation avoid it here).
    static func sine(_ x: Double) -> Double {
        var angle = x.truncatingRemainder(dividingBy: 2 * Double.pi)
        if angle > Double.pi { angle -= 2 * Double.pi }
        if angle < -Double.pi { angle += 2 * Double.pi }
        // Bhaskara I's approximation on [-pi, pi].
        let sign: Double = angle < 0 ? -1 : 1
        let a = abs(angle)
        return sign * 16 * a * (Double.pi - a) / (5 * Double.pi * Double.pi - 4 * a * (Double.pi - a))
    }
}
