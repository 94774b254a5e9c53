import AWSClients
import AsyncHTTPClient
import BallastConfig
import Consensus
import Foundation
import Logging

/// The `lease:` section of a coordinator's configuration: where the fleet's leader lease lives and its timings.
/// Every replica of a fleet must name the same store and fleet. Default: a SQLite file `lease.sqlite` in the
/// state directory (replicas on one host), fleet `default`, the timings of SYSTEM.md §3.
public struct LeaseEntry: Codable, Equatable, Sendable {
    public enum Store: String, ConfigChoice, Equatable, Sendable {
        /// A local SQLite file shared by the replicas of one host (the embedded default).
        case sqlite
        /// A DynamoDB table (production): conditional writes, strongly consistent reads.
        case dynamodb
    }

    public var store: Store
    /// The SQLite file (store `sqlite`). Default `<state-directory>/lease.sqlite`.
    public var path: String?
    /// The DynamoDB table (store `dynamodb`), as deploy/cloudformation/tables.yaml creates it.
    public var table: String?
    /// The table's region (store `dynamodb`).
    public var region: String?
    /// Another DynamoDB endpoint, e.g. a local one for tests (store `dynamodb`).
    public var endpoint: String?
    /// The fleet the lease is for: replicas with the same fleet elect one leader. Default `default`.
    public var fleet: String
    /// Default 10 s.
    public var duration: ConfigDuration
    /// Default 2 s.
    public var renewInterval: ConfigDuration
    /// Default 7 s.
    public var renewDeadline: ConfigDuration
    /// How often a standby reads the lease. Default 250 ms.
    public var pollInterval: ConfigDuration

    private enum CodingKeys: String, CodingKey {
        case store, path, table, region, endpoint, fleet, duration
        case renewInterval = "renew-interval"
        case renewDeadline = "renew-deadline"
        case pollInterval = "poll-interval"
    }

    public init() {
        let timing = LeaseTiming()
        store = .sqlite
        fleet = "default"
        duration = ConfigDuration(timing.leaseDuration)
        renewInterval = ConfigDuration(timing.renewInterval)
        renewDeadline = ConfigDuration(timing.renewDeadline)
        pollInterval = ConfigDuration(timing.pollInterval)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = LeaseEntry()
        store = try container.decode(.store, default: defaults.store)
        path = try container.decodeIfPresent(String.self, forKey: .path)
        table = try container.decodeIfPresent(String.self, forKey: .table)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        endpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
        fleet = try container.decode(.fleet, default: defaults.fleet)
        duration = try container.decode(.duration, default: defaults.duration)
        renewInterval = try container.decode(.renewInterval, default: defaults.renewInterval)
        renewDeadline = try container.decode(.renewDeadline, default: defaults.renewDeadline)
        pollInterval = try container.decode(.pollInterval, default: defaults.pollInterval)
    }

    /// The lease protocol's durations, as the election takes them.
    public var timing: LeaseTiming {
        LeaseTiming(
            leaseDuration: duration.duration,
            renewInterval: renewInterval.duration,
            renewDeadline: renewDeadline.duration,
            pollInterval: pollInterval.duration
        )
    }

    func validate() throws(ConfigValidationError) {
        guard !fleet.isEmpty else { throw ConfigValidationError(key: "lease.fleet", expected: "a fleet name") }
        do {
            try timing.validate()
        } catch {
            let key = LeaseEntry.yamlKeys[error.key] ?? "lease"
            throw ConfigValidationError(key: key, expected: "durations that \(error.message)")
        }
        switch store {
        case .sqlite:
            if let path, path.isEmpty {
                throw ConfigValidationError(key: "lease.path", expected: "a file path for the SQLite lease")
            }
        case .dynamodb:
            guard let table, !table.isEmpty else {
                throw ConfigValidationError(key: "lease.table", expected: "the DynamoDB table of the lease")
            }
            guard let region, !region.isEmpty else {
                throw ConfigValidationError(key: "lease.region", expected: "the AWS region of the lease table")
            }
            if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                throw ConfigValidationError(
                    key: "lease.endpoint",
                    expected: "a URL such as https://dynamodb.eu-west-1.amazonaws.com"
                )
            }
        }
    }

    /// The configuration key of each `LeaseTiming` field, for errors from its validation.
    static let yamlKeys: [String: String] = [
        "leaseDuration": "lease.duration", "renewInterval": "lease.renew-interval",
        "renewDeadline": "lease.renew-deadline", "pollInterval": "lease.poll-interval",
        "operationTimeout": "lease", "maxClockDriftRate": "lease",
    ]
}

extension CoordinatorConfiguration {
    /// The SQLite lease file: `lease.path`, else `lease.sqlite` in the state directory.
    public var sqliteLeasePath: String {
        lease.path ?? (stateDirectory.hasSuffix("/") ? stateDirectory : stateDirectory + "/") + "lease.sqlite"
    }
}

extension CoordinatorConfiguration {
    /// The lease store this file names: the SQLite file (its directory made if missing), or the DynamoDB table
    /// reached through `httpClient` with the standard AWS credentials chain (environment, shared files, instance
    /// metadata). Each store call must fail within the lease's operation timeout, so the client does not retry:
    /// the campaign retries on its own schedule.
    public func makeLeaseStore(httpClient: HTTPClient, logger: Logger) throws -> any LeaseStore {
        switch lease.store {
        case .sqlite:
            let path = sqliteLeasePath
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/")
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            return try SQLiteLeaseStore(path: path)
        case .dynamodb:
            let region = lease.region ?? ""
            var configuration = AWSClient.Configuration(
                region: region,
                endpoints: lease.endpoint.map { ["dynamodb": $0] } ?? [:]
            )
            configuration.retry = RetryPolicy(maxAttempts: 1)
            configuration.requestTimeout = lease.timing.operationTimeout
            let aws = AWSClient(
                httpClient: httpClient,
                credentialsProvider: CredentialsProviderChain.standard(
                    metadata: InstanceMetadataCredentialsProvider(httpClient: httpClient)
                ),
                configuration: configuration,
                logger: logger
            )
            return DynamoDBLeaseStore(dynamoDB: DynamoDB(client: aws), tableName: lease.table ?? "")
        }
    }
}
