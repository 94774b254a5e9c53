import AWSClients
import AsyncHTTPClient
import Cost
import Foundation
import Logging

/// Spot prices from EC2's price history (`DescribeSpotPriceHistory`), one EC2 client per region. Each refresh asks
/// for the last `lookback` of Linux/UNIX prices of the pools' instance types in the pools' region and takes the
/// newest price per zone and type; answers are cached per region for `cacheFor`, so a planning round every few
/// seconds costs EC2 one call per region every few minutes.
///
/// Promise: a price is EC2's own; a pool EC2 has no price for is left out (the planner then prices it as unknown),
/// never guessed.
public actor EC2SpotPriceSource: SpotPriceSource {
    public struct Configuration: Sendable {
        /// A client per region. Default: the standard credential chain and AWS's endpoints.
        public var clientForRegion: @Sendable (String) -> EC2
        public var lookback: Duration = .seconds(3 * 3600)
        public var cacheFor: Duration = .seconds(300)
        public var productDescription = "Linux/UNIX"

        public init(clientForRegion: @escaping @Sendable (String) -> EC2) {
            self.clientForRegion = clientForRegion
        }
    }

    private struct Cached {
        var fetchedAt: Timestamp
        var instanceTypes: Set<String>
        var prices: [SpotPool: Double]
    }

    private let configuration: Configuration
    private let logger: Logger
    private var cache: [String: Cached] = [:]

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func prices(for pools: [SpotPool], at now: Timestamp) async throws -> [SpotPool: Double] {
        var answer: [SpotPool: Double] = [:]
        var failures: [String] = []
        for (region, regionPools) in Dictionary(grouping: pools, by: \.region).sorted(by: { $0.key < $1.key }) {
            let types = Set(regionPools.map(\.instanceType))
            let cached = cache[region]
            let fresh: [SpotPool: Double]
            if let cached, cached.instanceTypes.isSuperset(of: types), now - cached.fetchedAt < configuration.cacheFor {
                fresh = cached.prices
            } else {
                do {
                    fresh = try await fetch(region: region, instanceTypes: types, now: now)
                    cache[region] = Cached(fetchedAt: now, instanceTypes: types, prices: fresh)
                } catch {
                    failures.append("\(region): \(error)")
                    continue
                }
            }
            for pool in regionPools { if let price = fresh[pool] { answer[pool] = price } }
        }
        if answer.isEmpty, !failures.isEmpty {
            throw SpotPriceError(message: failures.joined(separator: "; "))
        }
        for failure in failures { logger.warning("spot prices not refreshed", metadata: ["error": "\(failure)"]) }
        return answer
    }

    private func fetch(region: String, instanceTypes: Set<String>, now: Timestamp) async throws -> [SpotPool: Double] {
        let ec2 = configuration.clientForRegion(region)
        let end = Date(timeIntervalSince1970: Double(now.millisecondsSinceEpoch) / 1000)
        let (seconds, _) = configuration.lookback.components
        let history = try await ec2.describeAllSpotPrices(
            EC2.DescribeSpotPriceHistoryInput(
                instanceTypes: instanceTypes.sorted(),
                productDescriptions: [configuration.productDescription],
                startTime: end.addingTimeInterval(-Double(seconds)),
                endTime: end
            )
        )
        var newest: [SpotPool: (Date, Double)] = [:]
        for price in history {
            guard let usd = Double(price.price), usd > 0 else { continue }
            let pool = SpotPool(
                region: region,
                availabilityZone: price.availabilityZone,
                instanceType: price.instanceType
            )
            let at = price.timestamp ?? .distantPast
            if let seen = newest[pool], seen.0 >= at { continue }
            newest[pool] = (at, usd)
        }
        return newest.mapValues(\.1)
    }
}

/// EC2 gave no spot price for any region asked.
public struct SpotPriceError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "spot prices unavailable: \(message)" }
}
