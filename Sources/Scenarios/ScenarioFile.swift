import BallastConfig
import Cost

/// A scenario file as written (YAML, kebab-case keys; docs/simulator.md, "Scenarios"): what `ConfigLoader` decodes,
/// refuses unknown keys of and validates, before `Scenario.load` resolves its trace files into a `Scenario`.
///
/// Optional keys are optional properties here, so the decoded value re-encodes exactly the keys the file had: the
/// loader's unknown-key check compares the two. Defaults are applied when the file becomes a `Scenario`.
struct ScenarioFile: ValidatedConfiguration, Equatable {
    var name: String
    var description: String?
    var duration: ScenarioDuration
    var seed: UInt64?
    var start: ScenarioStart
    var budget: Budget?
    var cloud: Cloud?
    var clusters: [Cluster]
    var events: [Event]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, duration, seed, start, budget, cloud, clusters, events
    }

    struct Budget: Codable, Equatable, Sendable {
        var monthlyUSD: Double
        var regions: [String: Double]?
        var spentBeforeUSD: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case monthlyUSD = "monthly-usd"
            case regions
            case spentBeforeUSD = "spent-before-usd"
        }
    }

    struct Cloud: Codable, Equatable, Sendable {
        var bootP50: ScenarioDuration?
        var bootP90: ScenarioDuration?
        var interruptionsPerInstanceHour: Double?
        var rebalanceShare: Double?
        var spotPriceVolatility: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case bootP50 = "boot-p50"
            case bootP90 = "boot-p90"
            case interruptionsPerInstanceHour = "interruptions-per-instance-hour"
            case rebalanceShare = "rebalance-share"
            case spotPriceVolatility = "spot-price-volatility"
        }
    }

    struct Trace: Codable, Equatable, Sendable {
        /// Relative to the scenario file's directory, or absolute.
        var file: String
        var offset: ScenarioDuration?
        var scale: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case file, offset, scale
        }
    }

    struct Pod: Codable, Equatable, Sendable {
        var cpu: ScenarioQuantity?
        var memory: ScenarioQuantity?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case cpu, memory
        }
    }

    /// `priority:` as a number (0 low … 3 critical) or the planner's word for it.
    struct Priority: Codable, Equatable, Sendable {
        var value: Int

        static let words = ["low": 0, "normal": 1, "high": 2, "critical": 3]
        static let expectedForm = "a priority from 0 to 3, or low, normal, high or critical"

        init(value: Int) {
            self.value = value
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                value = number
                return
            }
            let word = try container.decode(String.self)
            guard let number = Self.words[word.lowercased()] else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "\(Self.expectedForm) (found \"\(word)\")"
                )
            }
            value = number
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(value)
        }
    }

    struct Cluster: Codable, Equatable, Sendable {
        var id: String
        var region: String
        var zones: [String]?
        var timeZone: ScenarioTimeZone?
        var trace: Trace
        var requestsPerPod: Double?
        var pod: Pod?
        var maxUnavailable: Int?
        var instanceTypes: [String]?
        var initialNodes: Int?
        var minNodes: Int?
        var maxNodes: Int?
        var onDemandBase: Int?
        var spotShare: Double?
        var targetUtilisation: Double?
        var priority: Priority?
        var failoverTargets: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, region, zones
            case timeZone = "time-zone"
            case trace
            case requestsPerPod = "requests-per-pod"
            case pod
            case maxUnavailable = "max-unavailable"
            case instanceTypes = "instance-types"
            case initialNodes = "initial-nodes"
            case minNodes = "min-nodes"
            case maxNodes = "max-nodes"
            case onDemandBase = "on-demand-base"
            case spotShare = "spot-share"
            case targetUtilisation = "target-utilisation"
            case priority
            case failoverTargets = "failover-targets"
        }

        /// The zones the cluster runs in: as written, or its region's `a`, `b` and `c`.
        var resolvedZones: [String] { zones ?? ["a", "b", "c"].map { region + $0 } }
    }

    enum MarketSetting: String, ConfigChoice, Equatable, Sendable {
        case spot
        case onDemand = "on-demand"

        var market: Market {
            switch self {
            case .spot: .spot
            case .onDemand: .onDemand
            }
        }
    }

    /// One entry of `events:`: `at` and exactly one kind, each kind a mapping of its own keys.
    struct Event: Codable, Equatable, Sendable {
        var at: ScenarioDuration
        var kind: Kind

        struct ZoneOutage: Codable, Equatable, Sendable {
            var zone: String
            var duration: ScenarioDuration
            enum CodingKeys: String, CodingKey, CaseIterable {
                case zone
                case duration = "for"
            }
        }

        struct RegionOutage: Codable, Equatable, Sendable {
            var region: String
            var duration: ScenarioDuration
            enum CodingKeys: String, CodingKey, CaseIterable {
                case region
                case duration = "for"
            }
        }

        struct PriceChange: Codable, Equatable, Sendable {
            var region: String?
            var zone: String?
            var instanceType: String?
            var factor: Double
            enum CodingKeys: String, CodingKey, CaseIterable {
                case region, zone
                case instanceType = "instance-type"
                case factor
            }
        }

        struct SpotStorm: Codable, Equatable, Sendable {
            var zone: String
            var instanceType: String?
            var duration: ScenarioDuration
            var interruptionsPerInstanceHour: Double
            enum CodingKeys: String, CodingKey, CaseIterable {
                case zone
                case instanceType = "instance-type"
                case duration = "for"
                case interruptionsPerInstanceHour = "interruptions-per-instance-hour"
            }
        }

        struct CapacityShortage: Codable, Equatable, Sendable {
            var zone: String
            var instanceType: String?
            var market: MarketSetting?
            var duration: ScenarioDuration
            enum CodingKeys: String, CodingKey, CaseIterable {
                case zone
                case instanceType = "instance-type"
                case market
                case duration = "for"
            }
        }

        struct BudgetChange: Codable, Equatable, Sendable {
            var region: String?
            var monthlyUSD: Double
            enum CodingKeys: String, CodingKey, CaseIterable {
                case region
                case monthlyUSD = "monthly-usd"
            }
        }

        struct Failover: Codable, Equatable, Sendable {
            var from: String
            var to: String

            enum CodingKeys: String, CodingKey, CaseIterable {
                case from, to
            }
        }

        struct Failback: Codable, Equatable, Sendable {
            var from: String

            enum CodingKeys: String, CodingKey, CaseIterable {
                case from
            }
        }

        enum Kind: Equatable, Sendable {
            case zoneOutage(ZoneOutage)
            case regionOutage(RegionOutage)
            case priceChange(PriceChange)
            case spotStorm(SpotStorm)
            case capacityShortage(CapacityShortage)
            case budgetChange(BudgetChange)
            case failover(Failover)
            case failback(Failback)

            /// The key the kind is written under.
            var key: String {
                switch self {
                case .zoneOutage: CodingKeys.zoneOutage.rawValue
                case .regionOutage: CodingKeys.regionOutage.rawValue
                case .priceChange: CodingKeys.priceChange.rawValue
                case .spotStorm: CodingKeys.spotStorm.rawValue
                case .capacityShortage: CodingKeys.capacityShortage.rawValue
                case .budgetChange: CodingKeys.budgetChange.rawValue
                case .failover: CodingKeys.failover.rawValue
                case .failback: CodingKeys.failback.rawValue
                }
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case at
            case zoneOutage = "zone-outage"
            case regionOutage = "region-outage"
            case priceChange = "price-change"
            case spotStorm = "spot-storm"
            case capacityShortage = "capacity-shortage"
            case budgetChange = "budget-change"
            case failover
            case failback
        }

        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        static let kindKeys = CodingKeys.allCases.filter { $0 != .at }.map(\.rawValue)

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            at = try container.decode(ScenarioDuration.self, forKey: .at)
            var kinds: [Kind] = []
            if let value = try container.decodeIfPresent(ZoneOutage.self, forKey: .zoneOutage) {
                kinds.append(.zoneOutage(value))
            }
            if let value = try container.decodeIfPresent(RegionOutage.self, forKey: .regionOutage) {
                kinds.append(.regionOutage(value))
            }
            if let value = try container.decodeIfPresent(PriceChange.self, forKey: .priceChange) {
                kinds.append(.priceChange(value))
            }
            if let value = try container.decodeIfPresent(SpotStorm.self, forKey: .spotStorm) {
                kinds.append(.spotStorm(value))
            }
            if let value = try container.decodeIfPresent(CapacityShortage.self, forKey: .capacityShortage) {
                kinds.append(.capacityShortage(value))
            }
            if let value = try container.decodeIfPresent(BudgetChange.self, forKey: .budgetChange) {
                kinds.append(.budgetChange(value))
            }
            if let value = try container.decodeIfPresent(Failover.self, forKey: .failover) {
                kinds.append(.failover(value))
            }
            if let value = try container.decodeIfPresent(Failback.self, forKey: .failback) {
                kinds.append(.failback(value))
            }
            guard kinds.count == 1, let kind = kinds.first else {
                let expected = "exactly one event kind next to `at` (\(Self.kindKeys.joined(separator: ", ")))"
                let written = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
                let found =
                    kinds.isEmpty
                    ? written.filter { $0 != "at" }.map { "`\($0)`" }
                    : kinds.map { "`\($0.key)`" }
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: expected + (found.isEmpty ? "" : "; found \(found.joined(separator: ", "))")
                    )
                )
            }
            self.kind = kind
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(at, forKey: .at)
            switch kind {
            case .zoneOutage(let value): try container.encode(value, forKey: .zoneOutage)
            case .regionOutage(let value): try container.encode(value, forKey: .regionOutage)
            case .priceChange(let value): try container.encode(value, forKey: .priceChange)
            case .spotStorm(let value): try container.encode(value, forKey: .spotStorm)
            case .capacityShortage(let value): try container.encode(value, forKey: .capacityShortage)
            case .budgetChange(let value): try container.encode(value, forKey: .budgetChange)
            case .failover(let value): try container.encode(value, forKey: .failover)
            case .failback(let value): try container.encode(value, forKey: .failback)
            }
        }
    }
}
