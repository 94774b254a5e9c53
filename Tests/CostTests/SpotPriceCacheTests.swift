import Cost
import Testing

@Suite("Spot price cache")
struct SpotPriceCacheTests {
    let pool = SpotPool(region: "us-east-1", availabilityZone: "us-east-1a", instanceType: "m5.large")
    let t0 = Timestamp(year: 2026, month: 1, day: 1)

    @Test("keeps the newest price and reports its age")
    func newestWins() {
        var c = SpotPriceCache()
        c.record(SpotPrice(usdPerHour: 0.04, observedAt: t0 + .seconds(60)), for: pool)
        c.record(SpotPrice(usdPerHour: 0.09, observedAt: t0), for: pool)  // late, older
        #expect(c.price(for: pool)?.usdPerHour == 0.04)
        #expect(c.age(of: pool, at: t0 + .seconds(300)) == .seconds(240))
        #expect(c.freshPrice(for: pool, at: t0 + .seconds(300), maxAge: .seconds(600)) == 0.04)
        #expect(c.freshPrice(for: pool, at: t0 + .seconds(3_600), maxAge: .seconds(600)) == nil)
        c.record(SpotPrice(usdPerHour: 0, observedAt: t0 + .seconds(120)), for: pool)
        #expect(c.price(for: pool)?.usdPerHour == 0.04)
    }
}
