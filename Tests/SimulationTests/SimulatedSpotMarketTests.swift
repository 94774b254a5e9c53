import Cost
import Simulation
import Testing

@Suite("simulated spot market")
struct SimulatedSpotMarketTests {
    @Test("pools trade 53–74 % below on-demand, differ from each other, and repeat for the same pool and time")
    func prices() async throws {
        let catalog = try PriceCatalog.bundled()
        let market = SimulatedSpotMarket(catalog: catalog)
        let pools =
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"].flatMap { zone in
                ["m6i.large", "c6i.large", "r6i.large"].map {
                    SpotPool(region: "eu-west-1", availabilityZone: zone, instanceType: $0)
                }
            } + [SpotPool(region: "eu-west-1", availabilityZone: "eu-west-1a", instanceType: "x9.nonexistent")]
        let now = Timestamp(year: 2026, month: 11, day: 25, hour: 3)
        let prices = try await market.prices(for: pools, at: now)
        #expect(prices.count == 9)  // the unknown type has no on-demand price, so no spot price either
        for (pool, price) in prices {
            let onDemand = try #require(
                catalog.onDemandUSDPerHour(region: pool.region, instanceType: pool.instanceType)
            )
            #expect(price >= onDemand * 0.26 && price <= onDemand * 0.47, "\(pool): \(price) vs \(onDemand)")
        }
        #expect(Set(prices.values).count > 3)
        #expect(try await market.prices(for: pools, at: now) == prices)
    }
}
