import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Foundation
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

    /// How long an instance takes from launch to booted.
    public enum BootDelay: Sendable {
        case uniform(ClosedRange<Duration>)
        /// Log-normal with this median and 90th percentile (EC2's boot times have a long right tail).
        case logNormal(p50: Duration, p90: Duration)
    }

    struct State {
        /// Bumped whenever instances start or stop existing, so a cluster knows to look again.
        var version = 0
        /// Zones that are down: their instances are gone and launches into them fail.
        var downZones: Set<String> = []
        /// Spot instances under an interruption notice, and when EC2 reclaims them.
        var reclaimAt: [String: FleetInstant] = [:]
        /// Instances still booting, and when each is up: a boot changes the listing without a version bump.
        var pendingBoots: [String: FleetInstant] = [:]
        var instances: [String: Instance] = [:]
        var order: [String] = []
        var byToken: [LaunchToken: [String]] = [:]
        var failing: [Pool: CloudError] = [:]
        var random: SeededRandom
        var nextNumber = 1
        var launchCalls = 0
        var launchesDone = 0
        var launchLog: [LaunchRecord] = []
        var terminations = 0
        var reclaimed = 0
        var reclaimedAfterDrain = 0
        var terminateCalls: [[String]] = []
    }

    private let state: Mutex<State>
    private let clock: any FleetClock
    private let clusterID: ClusterID
    public let bootDelay: BootDelay

    public convenience init(
        clusterID: ClusterID,
        clock: any FleetClock,
        bootDelay: ClosedRange<Duration> = .seconds(60)...(.seconds(120)),
        seed: UInt64 = 1
    ) {
        self.init(clusterID: clusterID, clock: clock, boot: .uniform(bootDelay), seed: seed)
    }

    public init(clusterID: ClusterID, clock: any FleetClock, boot: BootDelay, seed: UInt64 = 1) {
        self.clusterID = clusterID
        self.clock = clock
        self.bootDelay = boot
        self.state = Mutex(State(random: SeededRandom(seed: seed)))
    }

    /// Changes whenever an instance is launched, terminated or reclaimed.
    public var version: Int { state.withLock { $0.version } }

    /// The next instant at which the listing changes by itself, with no call and no version bump (an instance
    /// finishes booting, EC2 reclaims a spot instance), or nil if none is coming. A cluster that has read the
    /// listing at this version need not read it again before then.
    public func nextTimedChange() -> FleetInstant? {
        state.withLock { state in
            var next = state.reclaimAt.values.min()
            for at in state.pendingBoots.values where next.map({ at < $0 }) ?? true { next = at }
            return next
        }
    }

    /// Takes a zone down: every instance in it is gone at once and launches into it fail until `restoreZone`.
    public func failZone(_ zone: String) {
        state.withLock { state in
            state.downZones.insert(zone)
            for (id, instance) in state.instances
            where instance.cloud.availabilityZone == zone && instance.cloud.state != .terminated {
                state.instances[id]?.cloud.state = .terminated
                state.pendingBoots[id] = nil
            }
            state.version += 1
        }
    }

    public func restoreZone(_ zone: String) { _ = state.withLock { $0.downZones.remove(zone) } }

    /// Gives a spot instance its two-minute notice: EC2 reclaims it at `reclaim` unless it is terminated first.
    /// Returns false for an instance that is not a live spot instance or already has a notice.
    public func scheduleReclaim(_ instanceID: String, at reclaim: FleetInstant) -> Bool {
        state.withLock { state in
            guard let instance = state.instances[instanceID], instance.cloud.market == .spot,
                instance.cloud.state != .terminated, state.reclaimAt[instanceID] == nil
            else { return false }
            state.reclaimAt[instanceID] = reclaim
            return true
        }
    }

    /// Instances not terminated (pending ones too: EC2 bills from launch), for billing and interruptions.
    public func liveInstances() -> [CloudInstance] {
        let now = clock.now
        return state.withLock { state in
            Self.reclaim(&state, now: now)
            return state.order.compactMap { id in
                guard let instance = state.instances[id], instance.cloud.state != .terminated else { return nil }
                return instance.cloud
            }
        }
    }

    /// Drops terminated instances from the books (ids, tokens stay, so a repeated token still answers).
    public func compact() {
        state.withLock { state in
            state.order.removeAll { state.instances[$0]?.cloud.state == .terminated }
        }
    }

    private static func reclaim(_ state: inout State, now: FleetInstant) {
        guard !state.reclaimAt.isEmpty else { return }
        for (id, at) in state.reclaimAt where at <= now {
            state.reclaimAt[id] = nil
            state.reclaimed += 1
            if state.instances[id]?.cloud.state != .terminated {
                state.instances[id]?.cloud.state = .terminated
                state.pendingBoots[id] = nil
                state.version += 1
            } else {
                state.reclaimedAfterDrain += 1
            }
        }
    }

    private static func draw(_ boot: BootDelay, _ random: inout SeededRandom) -> Duration {
        switch boot {
        case .uniform(let range):
            let span = Int64((range.upperBound - range.lowerBound) / .milliseconds(1))
            return range.lowerBound + .milliseconds(span > 0 ? Int64.random(in: 0...span, using: &random) : 0)
        case .logNormal(let p50, let p90):
            let median = Double(p50.components.seconds) + Double(p50.components.attoseconds) / 1e18
            let ninety = Double(p90.components.seconds) + Double(p90.components.attoseconds) / 1e18
            let sigma = max(0, log(max(ninety, median) / median) / 1.281_551_565_5)
            // Box–Muller from two uniform draws in (0, 1].
            let u1 = Double(random.next() >> 11 &+ 1) / 9_007_199_254_740_993
            let u2 = Double(random.next() >> 11) / 9_007_199_254_740_992
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            let seconds = min(median * exp(sigma * z), median * 20)
            return .milliseconds(Int64((seconds * 1_000).rounded()))
        }
    }

    /// Launch calls that reached the cloud (a repeated token counts, and launches nothing).
    public var launchCalls: Int { state.withLock { $0.launchCalls } }

    /// Launch calls that started instances (a repeated token or a refused launch does not count).
    public var launchesDone: Int { state.withLock { $0.launchesDone } }

    /// One launch that started instances.
    public struct LaunchRecord: Sendable, Hashable {
        public var at: FleetInstant
        public var pool: Pool
        public var count: Int
    }

    /// Every launch that started instances, in order.
    public var launchLog: [LaunchRecord] { state.withLock { $0.launchLog } }

    /// Terminate calls made.
    public var terminations: Int { state.withLock { $0.terminations } }

    /// Spot instances EC2 reclaimed after their notice, and how many of those had been terminated (drained) by
    /// their owner before the reclaim.
    public var reclaims: (total: Int, afterDrain: Int) { state.withLock { ($0.reclaimed, $0.reclaimedAfterDrain) } }

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
                state.version += 1
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
            if state.downZones.contains(pool.availabilityZone) {
                return .failure(
                    CloudError(
                        .unavailable,
                        cloudCode: "Unavailable",
                        "\(pool.availabilityZone) is not available"
                    )
                )
            }
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
                let delay = Self.draw(bootDelay, &state.random)
                state.instances[instance.instanceID] = Instance(cloud: instance, bootsAt: now.advanced(by: delay))
                state.pendingBoots[instance.instanceID] = now.advanced(by: delay)
                state.order.append(instance.instanceID)
                launched.append(instance)
            }
            state.byToken[request.token] = launched.map(\.instanceID)
            state.launchesDone += 1
            state.launchLog.append(LaunchRecord(at: now, pool: pool, count: request.count))
            state.version += 1
            return .success(launched)
        }
        return try result.get()
    }

    public func terminate(_ instanceIDs: [String]) async throws(CloudError) {
        state.withLock { state in
            state.terminateCalls.append(instanceIDs)
            state.terminations += 1
            for id in instanceIDs {
                state.instances[id]?.cloud.state = .terminated
                state.pendingBoots[id] = nil
            }
            state.version += 1
        }
    }

    public func instances() async throws(CloudError) -> [CloudInstance] { listing() }

    /// The instances not terminated, with `pending` turned `running` once booted. Synchronous, for the simulated
    /// cluster.
    public func listing() -> [CloudInstance] {
        let now = clock.now
        return state.withLock { state in
            Self.reclaim(&state, now: now)
            return state.order.compactMap { id -> CloudInstance? in
                guard var instance = state.instances[id], instance.cloud.state != .terminated else { return nil }
                if instance.cloud.state == .pending && instance.bootsAt <= now {
                    instance.cloud.state = .running
                    state.instances[id] = instance
                    state.pendingBoots[id] = nil
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
