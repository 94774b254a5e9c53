import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Synchronization

/// A simulated EC2 for one cluster behind the agent's `CloudProvider` port: instances boot after a delay drawn from
/// a seeded distribution on the `FleetClock`, a launch token is honoured as EC2 honours a ClientToken, capacity
/// errors can be injected per pool, and terminated instances disappear from the listing.
///
/// Promise: a launch with a token already used returns the instances of the first call and launches nothing; the
/// same seed and the same calls at the same virtual times give the same instances and boot times.
public final class SimulatedCloud: CloudProvider {
    /// One pool: instance type × market × zone.
    public struct Pool: Hashable, Sendable {
        public var instanceType: String
        public var market: Market
        public var availabilityZone: String

        public init(instanceType: String, market: Market, availabilityZone: String) {
            self.instanceType = instanceType
            self.market = market
            self.availabilityZone = availabilityZone
        }
    }

    struct Instance {
        var cloud: CloudInstance
        /// When it has booted and its node joins the cluster.
        var bootsAt: FleetInstant
    }

    struct State {
        var instances: [String: Instance] = [:]
        var order: [String] = []
        var byToken: [LaunchToken: [String]] = [:]
        var failing: [Pool: CloudError] = [:]
        var random: SeededRandom
        var nextNumber = 1
        var launchCalls = 0
        var terminateCalls: [[String]] = []
    }

    private let state: Mutex<State>
    private let clock: any FleetClock
    private let clusterID: ClusterID
    /// Boot delays are uniform in this range.
    public let bootDelay: ClosedRange<Duration>

    public init(
        clusterID: ClusterID,
        clock: any FleetClock,
        bootDelay: ClosedRange<Duration> = .seconds(60)...(.seconds(120)),
        seed: UInt64 = 1
    ) {
        self.clusterID = clusterID
        self.clock = clock
        self.bootDelay = bootDelay
        self.state = Mutex(State(random: SeededRandom(seed: seed)))
    }

    /// Launch calls that reached the cloud (a repeated token counts, and launches nothing).
    public var launchCalls: Int { state.withLock { $0.launchCalls } }

    /// Instance ids of every terminate call, in order.
    public var terminateCalls: [[String]] { state.withLock { $0.terminateCalls } }

    /// Makes launches into `pool` fail with `error` until `clearFailure(pool)`.
    public func injectFailure(_ error: CloudError, for pool: Pool) { state.withLock { $0.failing[pool] = error } }

    public func clearFailure(_ pool: Pool) { _ = state.withLock { $0.failing.removeValue(forKey: pool) } }

    /// Instances that exist from the start, already booted (a cluster's first workers).
    @discardableResult
    public func seedRunning(_ pool: Pool, count: Int, launchedAt: Timestamp) -> [CloudInstance] {
        let now = clock.now
        return state.withLock { state in
            (0..<count).map { _ in
                let instance = Self.make(
                    &state,
                    cluster: clusterID,
                    pool: pool,
                    token: nil,
                    at: launchedAt,
                    running: true
                )
                state.instances[instance.instanceID] = Instance(cloud: instance, bootsAt: now)
                state.order.append(instance.instanceID)
                return instance
            }
        }
    }

    public func launch(_ request: InstanceLaunchRequest) async throws(CloudError) -> [CloudInstance] {
        let pool = Pool(
            instanceType: request.instanceType,
            market: request.market,
            availabilityZone: request.availabilityZone
        )
        let now = clock.now
        let timestamp = clock.timestamp
        let bootDelay = self.bootDelay
        let result: Result<[CloudInstance], CloudError> = state.withLock { state in
            state.launchCalls += 1
            if let ids = state.byToken[request.token] {
                return .success(ids.compactMap { state.instances[$0]?.cloud })
            }
            if let error = state.failing[pool] { return .failure(error) }
            guard request.count > 0 else { return .failure(CloudError(.invalidRequest, "count must be positive")) }
            var launched: [CloudInstance] = []
            for _ in 0..<request.count {
                let instance = Self.make(
                    &state,
                    cluster: clusterID,
                    pool: pool,
                    token: request.token,
                    at: timestamp,
                    running: false
                )
                let span = Int64((bootDelay.upperBound - bootDelay.lowerBound) / .milliseconds(1))
                let delay =
                    bootDelay.lowerBound
                    + .milliseconds(span > 0 ? Int64.random(in: 0...span, using: &state.random) : 0)
                state.instances[instance.instanceID] = Instance(cloud: instance, bootsAt: now.advanced(by: delay))
                state.order.append(instance.instanceID)
                launched.append(instance)
            }
            state.byToken[request.token] = launched.map(\.instanceID)
            return .success(launched)
        }
        return try result.get()
    }

    public func terminate(_ instanceIDs: [String]) async throws(CloudError) {
        state.withLock { state in
            state.terminateCalls.append(instanceIDs)
            for id in instanceIDs { state.instances[id]?.cloud.state = .terminated }
        }
    }

    public func instances() async throws(CloudError) -> [CloudInstance] { listing() }

    /// The instances not terminated, with `pending` turned `running` once booted. Synchronous, for the simulated
    /// cluster.
    public func listing() -> [CloudInstance] {
        let now = clock.now
        return state.withLock { state in
            state.order.compactMap { id -> CloudInstance? in
                guard var instance = state.instances[id], instance.cloud.state != .terminated else { return nil }
                if instance.cloud.state == .pending && instance.bootsAt <= now {
                    instance.cloud.state = .running
                    state.instances[id] = instance
                }
                return instance.cloud
            }
        }
    }

    /// When an instance has booted (its node may join from then on), nil for an unknown one.
    public func bootTime(of instanceID: String) -> FleetInstant? {
        state.withLock { $0.instances[instanceID]?.bootsAt }
    }

    /// Whether the instance has been terminated.
    public func isTerminated(_ instanceID: String) -> Bool {
        state.withLock { $0.instances[instanceID]?.cloud.state == .terminated }
    }

    private static func make(
        _ state: inout State,
        cluster: ClusterID,
        pool: Pool,
        token: LaunchToken?,
        at timestamp: Timestamp,
        running: Bool
    ) -> CloudInstance {
        let number = state.nextNumber
        state.nextNumber += 1
        let hex = String(number, radix: 16)
        return CloudInstance(
            instanceID: "i-\(String(repeating: "0", count: max(0, 12 - hex.count)))\(hex)",
            instanceType: pool.instanceType,
            market: pool.market,
            availabilityZone: pool.availabilityZone,
            state: running ? .running : .pending,
            launchedAt: timestamp,
            token: token,
            privateIP: "10.\(number / 65_536 % 256).\(number / 256 % 256).\(number % 256)"
        )
    }
}
