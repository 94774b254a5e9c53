import Cost

/// The coordinator's port for spot prices per pool (instance type × availability zone). The real source reads
/// EC2's spot price history; the simulated one prices pools from the on-demand catalog.
public protocol SpotPriceSource: Sendable {
    /// Current prices for as many of `pools` as the source knows, in USD per hour.
    func prices(for pools: [SpotPool], at now: Timestamp) async throws -> [SpotPool: Double]
}

extension CoordinatorActor {
    /// Asks `source` for the price of every pool the reporting clusters could launch into (their regions' zones
    /// × the catalog's instance types) and keeps the answers in the spot price cache the planner reads. A failed
    /// source leaves the cache as it was (prices age out by the planner's `spotPriceMaxAge`), and says so.
    public func refreshSpotPrices(from source: any SpotPriceSource) async {
        var pools: [SpotPool] = []
        for report in registry.reports {
            for zone in report.availabilityZones {
                for type in settings.catalog.instanceTypes(in: report.region) {
                    pools.append(SpotPool(region: report.region, availabilityZone: zone, instanceType: type.name))
                }
            }
        }
        guard !pools.isEmpty else { return }
        let now = clock.timestamp
        do {
            let prices = try await source.prices(for: pools, at: now)
            for (pool, price) in prices {
                spotPrices.record(SpotPrice(usdPerHour: price, observedAt: now), for: pool)
            }
        } catch {
            logger.warning("spot prices not refreshed", metadata: ["error": "\(error)", "pools": "\(pools.count)"])
        }
    }
}
