import AWSClients
import AsyncHTTPClient
import BallastTestSupport
import Coordinator
import Cost
import Foundation
import Logging
import Synchronization
import Testing

@Suite("spot prices from EC2")
struct EC2SpotPriceSourceTests {
    @Test("prices come from EC2's history (moto, signed), newest per pool, cached per region between refreshes")
    func fromMoto() async throws {
        let moto = try await MotoServer.start()
        defer { Task { await moto.stop() } }
        let http = HTTPClient.shared  // Never shut down: nothing leaks when an expectation throws.
        let calls = CallCounter()
        var configuration = EC2SpotPriceSource.Configuration { region in
            var aws = AWSClient.Configuration(region: region, endpoints: ["ec2": moto.endpoint])
            aws.retry = RetryPolicy(maxAttempts: 1)
            calls.increment()
            return EC2(
                client: AWSClient(
                    httpClient: http,
                    credentialsProvider: StaticCredentialsProvider(
                        AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
                    ),
                    configuration: aws,
                    logger: Logger(label: "test.aws")
                )
            )
        }
        configuration.productDescription = "Linux/UNIX (Amazon VPC)"
        configuration.lookback = .seconds(10 * 365 * 86_400)  // moto's history carries fixed, old timestamps.
        let source = EC2SpotPriceSource(configuration: configuration, logger: Logger(label: "test"))
        let pools = [
            SpotPool(region: moto.region, availabilityZone: "\(moto.region)a", instanceType: "m5.large"),
            SpotPool(region: moto.region, availabilityZone: "\(moto.region)b", instanceType: "m5.large"),
        ]
        let now = Timestamp(sinceEpoch: .seconds(Int64(Date().timeIntervalSince1970)))
        let prices = try await source.prices(for: pools, at: now)
        #expect(!prices.isEmpty)
        #expect(prices.values.allSatisfy { $0 > 0 && $0 < 10 })
        #expect(Set(prices.keys).isSubset(of: Set(pools)))
        // Within the cache period the same region is not asked again.
        _ = try await source.prices(for: pools, at: now + .seconds(60))
        #expect(calls.value == 1)
        _ = try await source.prices(for: pools, at: now + .seconds(600))
        #expect(calls.value == 2)
    }

    @Test("a region EC2 refuses (wrong secret) is an error when no region answers")
    func refused() async throws {
        let moto = try await MotoServer.start()
        defer { Task { await moto.stop() } }
        let http = HTTPClient.shared  // Never shut down: nothing leaks when an expectation throws.
        let configuration = EC2SpotPriceSource.Configuration { region in
            var aws = AWSClient.Configuration(region: region, endpoints: ["ec2": moto.endpoint])
            aws.retry = RetryPolicy(maxAttempts: 1)
            return EC2(
                client: AWSClient(
                    httpClient: http,
                    credentialsProvider: StaticCredentialsProvider(
                        AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: "not-the-secret")
                    ),
                    configuration: aws,
                    logger: Logger(label: "test.aws")
                )
            )
        }
        let source = EC2SpotPriceSource(configuration: configuration, logger: Logger(label: "test"))
        await #expect(throws: SpotPriceError.self) {
            _ = try await source.prices(
                for: [SpotPool(region: moto.region, availabilityZone: "\(moto.region)a", instanceType: "m5.large")],
                at: Timestamp(sinceEpoch: .seconds(1_790_000_000))
            )
        }
    }
}

final class CallCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
