import Foundation
import Logging

/// An EC2 client over the Query protocol (form-encoded `Action=...&Version=2016-11-15`, XML replies): launch
/// from a launch template, terminate, describe instances and spot price history, each list paginated.
///
/// EC2's own error codes (`InsufficientInstanceCapacity`, `InvalidParameterValue`, ...) arrive in
/// `AWSError.serviceCode`; capacity errors are `.insufficientCapacity` so a planner can pick the next pool.
public struct EC2: Sendable {
    public static let apiVersion = "2016-11-15"
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    // MARK: Types

    public struct Tag: Sendable, Hashable, Codable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A describe filter: `name` (e.g. `tag:ballast.cluster`, `instance-state-name`) matching any of `values`.
    public struct Filter: Sendable, Hashable {
        public var name: String
        public var values: [String]
        public init(_ name: String, _ values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// Which launch template to launch from, by id or name, and which version (`$Default`, `$Latest` or a
    /// number; nil for the default).
    public enum LaunchTemplate: Sendable, Hashable {
        case id(String, version: String? = nil)
        case name(String, version: String? = nil)
    }

    /// On-demand, or spot with an optional maximum hourly price (nil: up to the on-demand price).
    public enum Market: Sendable, Hashable {
        case onDemand
        case spot(maxPrice: String? = nil)
    }

    public struct RunInstancesInput: Sendable, Hashable {
        public var launchTemplate: LaunchTemplate
        /// The subnet, which fixes the availability zone.
        public var subnetID: String?
        /// Overrides the template's instance type.
        public var instanceType: String?
        public var market: Market
        /// Idempotency token: a retry with the same token never launches twice. Up to 64 ASCII characters.
        /// When nil, `runInstances` makes one per call (as AWS's SDKs do), so its own retries after a lost reply
        /// cannot launch twice; pass one derived from the launch command to make the caller's retries safe too.
        public var clientToken: String?
        /// Applied to the instances and their volumes at launch.
        public var tags: [Tag]
        public var minCount: Int
        public var maxCount: Int

        public init(
            launchTemplate: LaunchTemplate,
            subnetID: String? = nil,
            instanceType: String? = nil,
            market: Market = .onDemand,
            clientToken: String? = nil,
            tags: [Tag] = [],
            minCount: Int = 1,
            maxCount: Int = 1
        ) {
            self.launchTemplate = launchTemplate
            self.subnetID = subnetID
            self.instanceType = instanceType
            self.market = market
            self.clientToken = clientToken
            self.tags = tags
            self.minCount = minCount
            self.maxCount = maxCount
        }
    }

    /// An instance's lifecycle state as EC2 names it.
    public enum InstanceStateName: String, Sendable, Hashable, Codable {
        case pending, running
        case shuttingDown = "shutting-down"
        case terminated, stopping, stopped
        case unknown
    }

    public struct Instance: Sendable, Hashable {
        public var instanceID: String
        public var instanceType: String
        public var imageID: String?
        public var state: InstanceStateName
        public var availabilityZone: String?
        public var subnetID: String?
        public var privateIPAddress: String?
        public var privateDNSName: String?
        public var launchTime: Date?
        /// True for spot instances (`instanceLifecycle` = `spot`).
        public var isSpot: Bool
        public var clientToken: String?
        public var tags: [String: String]
    }

    public struct Reservation: Sendable, Hashable {
        public var reservationID: String
        public var instances: [Instance]
    }

    public struct DescribeInstancesInput: Sendable, Hashable {
        public var instanceIDs: [String]
        public var filters: [Filter]
        /// Page size, 5...1000; cannot be combined with `instanceIDs`.
        public var maxResults: Int?
        public var nextToken: String?
        public init(
            instanceIDs: [String] = [],
            filters: [Filter] = [],
            maxResults: Int? = nil,
            nextToken: String? = nil
        ) {
            self.instanceIDs = instanceIDs
            self.filters = filters
            self.maxResults = maxResults
            self.nextToken = nextToken
        }
    }

    public struct DescribeInstancesOutput: Sendable, Hashable {
        public var reservations: [Reservation]
        public var nextToken: String?
        /// The instances of every reservation, in order.
        public var instances: [Instance] { reservations.flatMap(\.instances) }
    }

    public struct InstanceStateChange: Sendable, Hashable {
        public var instanceID: String
        public var previousState: InstanceStateName
        public var currentState: InstanceStateName
    }

    public struct SpotPrice: Sendable, Hashable {
        public var availabilityZone: String
        public var instanceType: String
        public var productDescription: String
        /// Dollars per hour, as EC2 sends it (decimal text, e.g. `"0.031200"`).
        public var price: String
        public var timestamp: Date?
    }

    public struct DescribeSpotPriceHistoryInput: Sendable, Hashable {
        public var instanceTypes: [String]
        /// e.g. `Linux/UNIX`, `Linux/UNIX (Amazon VPC)`.
        public var productDescriptions: [String]
        public var availabilityZone: String?
        public var startTime: Date?
        public var endTime: Date?
        public var filters: [Filter]
        public var maxResults: Int?
        public var nextToken: String?
        public init(
            instanceTypes: [String] = [],
            productDescriptions: [String] = [],
            availabilityZone: String? = nil,
            startTime: Date? = nil,
            endTime: Date? = nil,
            filters: [Filter] = [],
            maxResults: Int? = nil,
            nextToken: String? = nil
        ) {
            self.instanceTypes = instanceTypes
            self.productDescriptions = productDescriptions
            self.availabilityZone = availabilityZone
            self.startTime = startTime
            self.endTime = endTime
            self.filters = filters
            self.maxResults = maxResults
            self.nextToken = nextToken
        }
    }

    public struct DescribeSpotPriceHistoryOutput: Sendable, Hashable {
        public var prices: [SpotPrice]
        public var nextToken: String?
    }

    // MARK: Operations

    /// Launches instances; returns the reservation with the instances as EC2 first reported them (pending).
    public func runInstances(_ input: RunInstancesInput) async throws -> Reservation {
        var parameters: [(String, String)] = []
        switch input.launchTemplate {
        case .id(let id, let version):
            parameters.append(("LaunchTemplate.LaunchTemplateId", id))
            if let version { parameters.append(("LaunchTemplate.Version", version)) }
        case .name(let name, let version):
            parameters.append(("LaunchTemplate.LaunchTemplateName", name))
            if let version { parameters.append(("LaunchTemplate.Version", version)) }
        }
        parameters.append(("MinCount", String(input.minCount)))
        parameters.append(("MaxCount", String(input.maxCount)))
        if let subnet = input.subnetID { parameters.append(("SubnetId", subnet)) }
        if let type = input.instanceType { parameters.append(("InstanceType", type)) }
        if case .spot(let maxPrice) = input.market {
            parameters.append(("InstanceMarketOptions.MarketType", "spot"))
            parameters.append(("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time"))
            parameters.append(("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate"))
            if let maxPrice { parameters.append(("InstanceMarketOptions.SpotOptions.MaxPrice", maxPrice)) }
        }
        // Every attempt of this call carries the same token: EC2 answers a repeat with the first launch.
        parameters.append(("ClientToken", input.clientToken ?? UUID().uuidString))
        if !input.tags.isEmpty {
            for (index, resource) in ["instance", "volume"].enumerated() {
                let prefix = "TagSpecification.\(index + 1)"
                parameters.append(("\(prefix).ResourceType", resource))
                for (tagIndex, tag) in input.tags.enumerated() {
                    parameters.append(("\(prefix).Tag.\(tagIndex + 1).Key", tag.key))
                    parameters.append(("\(prefix).Tag.\(tagIndex + 1).Value", tag.value))
                }
            }
        }
        let reply = try await call("RunInstances", parameters)
        return try Self.reservation(reply, operation: "RunInstances")
    }

    /// Terminates instances; returns each one's state change.
    public func terminateInstances(_ instanceIDs: [String]) async throws -> [InstanceStateChange] {
        let parameters = instanceIDs.enumerated().map { ("InstanceId.\($0.offset + 1)", $0.element) }
        let reply = try await call("TerminateInstances", parameters)
        return reply.items("instancesSet").map { item in
            InstanceStateChange(
                instanceID: item.string("instanceId") ?? "",
                previousState: InstanceStateName(rawValue: item.child("previousState")?.string("name") ?? "")
                    ?? .unknown,
                currentState: InstanceStateName(rawValue: item.child("currentState")?.string("name") ?? "") ?? .unknown
            )
        }
    }

    /// One page of DescribeInstances.
    public func describeInstances(_ input: DescribeInstancesInput) async throws -> DescribeInstancesOutput {
        var parameters = input.instanceIDs.enumerated().map { ("InstanceId.\($0.offset + 1)", $0.element) }
        parameters += Self.filterParameters(input.filters)
        if let max = input.maxResults { parameters.append(("MaxResults", String(max))) }
        if let token = input.nextToken { parameters.append(("NextToken", token)) }
        let reply = try await call("DescribeInstances", parameters)
        let reservations = try reply.items("reservationSet").map {
            try Self.reservation($0, operation: "DescribeInstances")
        }
        return DescribeInstancesOutput(reservations: reservations, nextToken: Self.token(reply))
    }

    /// Every instance matching the input, following NextToken.
    public func describeAllInstances(_ input: DescribeInstancesInput) async throws -> [Instance] {
        var input = input
        var instances: [Instance] = []
        while true {
            let page = try await describeInstances(input)
            instances += page.instances
            guard let next = page.nextToken else { return instances }
            input.nextToken = next
        }
    }

    /// One page of DescribeSpotPriceHistory.
    public func describeSpotPriceHistory(
        _ input: DescribeSpotPriceHistoryInput
    ) async throws -> DescribeSpotPriceHistoryOutput {
        var parameters = input.instanceTypes.enumerated().map { ("InstanceType.\($0.offset + 1)", $0.element) }
        parameters += input.productDescriptions.enumerated().map { ("ProductDescription.\($0.offset + 1)", $0.element) }
        if let zone = input.availabilityZone { parameters.append(("AvailabilityZone", zone)) }
        if let start = input.startTime { parameters.append(("StartTime", Self.formatDate(start))) }
        if let end = input.endTime { parameters.append(("EndTime", Self.formatDate(end))) }
        parameters += Self.filterParameters(input.filters)
        if let max = input.maxResults { parameters.append(("MaxResults", String(max))) }
        if let token = input.nextToken { parameters.append(("NextToken", token)) }
        let reply = try await call("DescribeSpotPriceHistory", parameters)
        let prices = reply.items("spotPriceHistorySet").map { item in
            SpotPrice(
                availabilityZone: item.string("availabilityZone") ?? "",
                instanceType: item.string("instanceType") ?? "",
                productDescription: item.string("productDescription") ?? "",
                price: item.string("spotPrice") ?? "",
                timestamp: item.string("timestamp").flatMap(Self.parseDate)
            )
        }
        return DescribeSpotPriceHistoryOutput(prices: prices, nextToken: Self.token(reply))
    }

    /// Every price matching the input, following NextToken.
    public func describeAllSpotPrices(_ input: DescribeSpotPriceHistoryInput) async throws -> [SpotPrice] {
        var input = input
        var prices: [SpotPrice] = []
        while true {
            let page = try await describeSpotPriceHistory(input)
            prices += page.prices
            guard let next = page.nextToken else { return prices }
            input.nextToken = next
        }
    }

    /// Sends any EC2 action with its parameters (unencoded; this encodes them) and returns the parsed reply:
    /// for the few calls without a typed wrapper (bootstrap, tests).
    public func call(_ action: String, _ parameters: [(String, String)]) async throws -> XMLNode {
        let body = SigV4Signer.formEncode([("Action", action), ("Version", Self.apiVersion)] + parameters)
        let response = try await client.send(
            service: .ec2,
            operation: action,
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Data(body.utf8)
        )
        do {
            return try XMLNode.parse(response.body)
        } catch var error as AWSError {
            error.service = "ec2"
            error.operation = action
            error.httpStatus = response.status
            throw error
        }
    }

    // MARK: Decoding

    static func filterParameters(_ filters: [Filter]) -> [(String, String)] {
        var parameters: [(String, String)] = []
        for (index, filter) in filters.enumerated() {
            parameters.append(("Filter.\(index + 1).Name", filter.name))
            for (valueIndex, value) in filter.values.enumerated() {
                parameters.append(("Filter.\(index + 1).Value.\(valueIndex + 1)", value))
            }
        }
        return parameters
    }

    static func token(_ reply: XMLNode) -> String? {
        guard let token = reply.string("nextToken"), !token.isEmpty else { return nil }
        return token
    }

    static func reservation(_ node: XMLNode, operation: String) throws -> Reservation {
        guard let id = node.string("reservationId") else {
            throw AWSError(
                code: .invalidResponse,
                service: "ec2",
                operation: operation,
                message: "a reservation without reservationId"
            )
        }
        return Reservation(
            reservationID: id,
            instances: try node.items("instancesSet").map { try instance($0, operation: operation) }
        )
    }

    static func instance(_ node: XMLNode, operation: String) throws -> Instance {
        guard let id = node.string("instanceId") else {
            throw AWSError(
                code: .invalidResponse,
                service: "ec2",
                operation: operation,
                message: "an instance without instanceId"
            )
        }
        var tags: [String: String] = [:]
        for item in node.items("tagSet") {
            if let key = item.string("key") { tags[key] = item.string("value") ?? "" }
        }
        return Instance(
            instanceID: id,
            instanceType: node.string("instanceType") ?? "",
            imageID: node.string("imageId"),
            state: InstanceStateName(rawValue: node.child("instanceState")?.string("name") ?? "") ?? .unknown,
            availabilityZone: node.child("placement")?.string("availabilityZone"),
            subnetID: node.string("subnetId"),
            privateIPAddress: node.string("privateIpAddress"),
            privateDNSName: node.string("privateDnsName"),
            launchTime: node.string("launchTime").flatMap(parseDate),
            isSpot: node.string("instanceLifecycle") == "spot",
            clientToken: node.string("clientToken").flatMap { $0.isEmpty ? nil : $0 },
            tags: tags
        )
    }

    /// Parses EC2's ISO 8601 timestamps, with or without a fraction of any length (`2006-01-02T15:04:05.999999999Z`).
    static func parseDate(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 20 else { return nil }
        var main = trimmed
        var fraction = 0.0
        if let dot = trimmed.firstIndex(of: ".") {
            let zoneStart = trimmed[dot...].firstIndex { $0 == "Z" || $0 == "+" || $0 == "-" } ?? trimmed.endIndex
            fraction = Double("0" + trimmed[dot..<zoneStart]) ?? 0
            main = String(trimmed[..<dot] + trimmed[zoneStart...])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: main).map { $0.addingTimeInterval(fraction) }
    }

    static func formatDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
