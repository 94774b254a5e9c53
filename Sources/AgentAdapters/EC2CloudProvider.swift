import AWSClients
import ClusterAgent
import Cost
import FleetAPI
import Foundation
import Logging

/// The agent's `CloudProvider` over EC2: launches from the cluster's launch template into the subnet of the
/// chosen zone, terminates, and lists the cluster's instances by its tag.
///
/// Promise: every instance it launches carries `ballast:cluster`, `ballast:generation` and `ballast:token` (on
/// the instance and its volumes) and was asked for with the launch token as `ClientToken`, so a repeated launch
/// returns the first one's instances; `instances()` sees only instances tagged with this cluster.
public struct EC2CloudProvider: CloudProvider {
    /// What the provider needs to know about the cluster's EC2 setup.
    public struct Settings: Sendable, Hashable {
        /// Tagged as `ballast:cluster` on every launch and used to find the cluster's instances.
        public var cluster: ClusterID
        /// The cluster's launch template (image, security groups, user data, instance profile).
        public var launchTemplate: EC2.LaunchTemplate
        /// The subnet to launch into for each availability zone the planner may choose.
        public var subnets: [String: String]
        /// The spot maximum price in dollars per hour; nil pays up to the on-demand price (AWS's advice).
        public var spotMaxPrice: String?
        /// When true (the default) a launch of n asks EC2 for MinCount 1, MaxCount n and returns what EC2 could
        /// place; when false it asks for exactly n (MinCount = MaxCount) and fails with insufficient capacity
        /// unless all n fit. See docs/agent-adapters.md.
        public var acceptPartialLaunches: Bool

        public init(
            cluster: ClusterID,
            launchTemplate: EC2.LaunchTemplate,
            subnets: [String: String],
            spotMaxPrice: String? = nil,
            acceptPartialLaunches: Bool = true
        ) {
            self.cluster = cluster
            self.launchTemplate = launchTemplate
            self.subnets = subnets
            self.spotMaxPrice = spotMaxPrice
            self.acceptPartialLaunches = acceptPartialLaunches
        }
    }

    /// The tag keys of the contract in docs/install.md.
    public enum TagKey {
        public static let cluster = "ballast:cluster"
        public static let generation = "ballast:generation"
        public static let token = "ballast:token"
    }

    public let settings: Settings
    private let ec2: EC2
    private let logger: Logger

    public init(ec2: EC2, settings: Settings, logger: Logger) {
        self.ec2 = ec2
        self.settings = settings
        var logger = logger
        logger[metadataKey: "ballast.cluster"] = "\(settings.cluster)"
        self.logger = logger
    }

    public func launch(_ request: InstanceLaunchRequest) async throws(CloudError) -> [CloudInstance] {
        guard request.count > 0 else {
            throw CloudError(.invalidRequest, "a launch of \(request.count) instances")
        }
        guard let subnet = settings.subnets[request.availabilityZone] else {
            throw CloudError(
                .invalidRequest,
                "no subnet configured for zone \(request.availabilityZone) (configured: "
                    + settings.subnets.keys.sorted().joined(separator: ", ") + ")"
            )
        }
        let input = EC2.RunInstancesInput(
            launchTemplate: settings.launchTemplate,
            subnetID: subnet,
            instanceType: request.instanceType,
            market: request.market == .spot ? .spot(maxPrice: settings.spotMaxPrice) : .onDemand,
            clientToken: request.token.rawValue,
            tags: [
                EC2.Tag(TagKey.cluster, settings.cluster.rawValue),
                EC2.Tag(TagKey.generation, String(request.generation)),
                EC2.Tag(TagKey.token, request.token.rawValue),
            ],
            minCount: settings.acceptPartialLaunches ? 1 : request.count,
            maxCount: request.count
        )
        let reservation: EC2.Reservation
        do {
            reservation = try await ec2.runInstances(input)
        } catch {
            let mapped = Self.map(error, operation: "RunInstances")
            logger.warning(
                "launch failed",
                metadata: [
                    "ballast.launch-token": "\(request.token)", "ballast.pool": "\(Self.pool(request))",
                    "ballast.error": "\(mapped.code.rawValue)", "aws.error": "\(mapped.cloudCode ?? "-")",
                ]
            )
            throw mapped
        }
        if reservation.instances.count < request.count {
            logger.notice(
                "launch placed fewer instances than asked",
                metadata: [
                    "ballast.launch-token": "\(request.token)", "ballast.pool": "\(Self.pool(request))",
                    "ballast.asked": "\(request.count)", "ballast.launched": "\(reservation.instances.count)",
                ]
            )
        }
        return try reservation.instances.map { instance throws(CloudError) in
            try cloudInstance(
                instance,
                fallback: (request.instanceType, request.market, request.availabilityZone, request.token)
            )
        }
    }

    public func terminate(_ instanceIDs: [String]) async throws(CloudError) {
        guard !instanceIDs.isEmpty else { return }
        do {
            _ = try await ec2.terminateInstances(instanceIDs)
        } catch let error as AWSError where error.serviceCode == "InvalidInstanceID.NotFound" {
            // EC2 refuses the whole call when one id is gone; terminate the rest one by one.
            guard instanceIDs.count > 1 else { return }
            for id in instanceIDs { try await terminate([id]) }
        } catch {
            throw Self.map(error, operation: "TerminateInstances")
        }
    }

    public func instances() async throws(CloudError) -> [CloudInstance] {
        let found: [EC2.Instance]
        do {
            found = try await ec2.describeAllInstances(
                .init(filters: [
                    EC2.Filter("tag:\(TagKey.cluster)", [settings.cluster.rawValue]),
                    EC2.Filter(
                        "instance-state-name",
                        ["pending", "running", "shutting-down", "stopping", "stopped"]
                    ),
                ])
            )
        } catch {
            throw Self.map(error, operation: "DescribeInstances")
        }
        return try found.map { instance throws(CloudError) in try cloudInstance(instance, fallback: nil) }
    }

    // MARK: Mapping

    private func cloudInstance(
        _ instance: EC2.Instance,
        fallback: (type: String, market: Market, zone: String, token: LaunchToken)?
    ) throws(CloudError) -> CloudInstance {
        guard let launchTime = instance.launchTime else {
            throw CloudError(.unavailable, "EC2 described \(instance.instanceID) without a launch time")
        }
        let state: CloudInstance.State =
            switch instance.state {
            case .pending, .unknown: .pending
            case .running: .running
            case .shuttingDown: .shuttingDown
            case .terminated: .terminated
            case .stopping: .stopping
            case .stopped: .stopped
            }
        let type = instance.instanceType.isEmpty ? (fallback?.type ?? "") : instance.instanceType
        let zone = instance.availabilityZone ?? fallback?.zone ?? ""
        let token = instance.tags[TagKey.token].map(LaunchToken.init(rawValue:)) ?? fallback?.token
        return CloudInstance(
            instanceID: instance.instanceID,
            instanceType: type,
            market: instance.isSpot ? .spot : .onDemand,
            availabilityZone: zone,
            state: state,
            launchedAt: Timestamp(
                sinceEpoch: .milliseconds(Int64((launchTime.timeIntervalSince1970 * 1000).rounded()))
            ),
            token: token,
            // The agent's last way to find a node's instance, for nodes with neither provider id nor label.
            privateIP: instance.privateIPAddress
        )
    }

    static func pool(_ request: InstanceLaunchRequest) -> String {
        "\(request.instanceType)/\(request.market)/\(request.availabilityZone)"
    }

    /// Sorts an EC2 failure by what the planner should do about it.
    static func map(_ error: any Error, operation: String) -> CloudError {
        guard let error = error as? AWSError else {
            return CloudError(.unavailable, "\(operation) failed: \(error)")
        }
        let serviceCode = error.serviceCode
        let message = "\(operation): \(error.message)"
        switch error.code {
        case .insufficientCapacity, .spotPriceTooLow:
            return CloudError(.insufficientCapacity, cloudCode: serviceCode, message)
        case .throttled, .transport, .noCredentials, .authenticationFailed:
            return CloudError(.unavailable, cloudCode: serviceCode ?? error.code.label, message)
        case .accessDenied, .invalidRequest:
            return CloudError(.invalidRequest, cloudCode: serviceCode ?? error.code.label, message)
        case .resourceNotFound, .invalidResponse, .conditionalCheckFailed, .service:
            break
        }
        let code = serviceCode ?? ""
        switch code {
        case "InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity",
            "SpotMaxPriceTooLow", "Unsupported", "InsufficientFreeAddressesInSubnet":
            return CloudError(.insufficientCapacity, cloudCode: code, message)
        case "InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded":
            return CloudError(.quotaExceeded, cloudCode: code, message)
        case "InternalError", "Unavailable", "ServiceUnavailable", "RequestLimitExceeded":
            return CloudError(.unavailable, cloudCode: code, message)
        default:
            break
        }
        // InvalidParameterValue, InvalidLaunchTemplateId.NotFound, InvalidSubnetID.NotFound, …
        if code.hasPrefix("Invalid") || code == "MissingParameter" || code == "UnknownParameter" {
            return CloudError(.invalidRequest, cloudCode: code, message)
        }
        if error.code == .invalidResponse || (error.httpStatus ?? 500) >= 500 {
            return CloudError(.unavailable, cloudCode: serviceCode, message)
        }
        return CloudError(.invalidRequest, cloudCode: serviceCode, message)
    }
}

extension AWSError.Code {
    fileprivate var label: String {
        switch self {
        case .throttled: "Throttled"
        case .transport: "Transport"
        case .noCredentials: "NoCredentials"
        case .authenticationFailed: "AuthenticationFailed"
        case .accessDenied: "AccessDenied"
        case .invalidRequest: "InvalidRequest"
        default: "\(self)"
        }
    }
}
