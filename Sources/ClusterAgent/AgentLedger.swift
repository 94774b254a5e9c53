import Clocks
import Cost
import FleetAPI
import Synchronization

/// What the agent did and learned that its next reports must carry, shared by the agent actor, the drain,
/// interruption and autonomy services and the observer: launches by token, boot lead times, launch failures,
/// interruption notices, drains that ended without removing their node, and when a leader last reached the agent.
///
/// Promises: a launch token maps to the first receipt for it for as long as the agent runs; a failure or notice is
/// carried by every report for `retention` after it happened (the planner ignores repeats), then dropped.
public final class AgentLedger: Sendable {
    /// One accepted launch.
    public struct Launch: Sendable, Hashable {
        public var token: LaunchToken
        public var instanceIDs: [String]
        public var instanceType: String
        public var availabilityZone: String
        public var launchedAt: Timestamp
    }

    struct State {
        var launches: [LaunchToken: Launch] = [:]
        /// Instances launched and not yet seen Ready: their pool and launch time.
        var booting: [String: Launch] = [:]
        /// Launch-to-Ready samples per "type zone", newest last, at most `maxSamples` each.
        var bootSamples: [String: [Duration]] = [:]
        var failures: [LaunchFailure] = []
        var notices: [InterruptionNotice] = []
        var drainProblems: [String: String] = [:]
        var leaderContact: FleetInstant?
    }

    private let state = Mutex(State())
    /// How long a failure or notice stays in reports. Default 5 minutes.
    public let retention: Duration
    static let maxSamples = 50

    public init(retention: Duration = .seconds(300)) {
        self.retention = retention
    }

    // MARK: Launches

    /// The receipt of an earlier launch with this token, if any.
    public func launch(for token: LaunchToken) -> Launch? { state.withLock { $0.launches[token] } }

    /// Records an accepted launch and starts timing each instance's boot.
    public func recordLaunch(_ launch: Launch) {
        state.withLock { state in
            guard state.launches[launch.token] == nil else { return }
            state.launches[launch.token] = launch
            for id in launch.instanceIDs { state.booting[id] = launch }
        }
    }

    /// Instances found on the cloud at start with a launch token tagged (a launch in flight when the agent stopped):
    /// remembered under their token so a resent command answers with them without launching again.
    public func adopt(_ instances: [CloudInstance]) {
        let byToken = Dictionary(grouping: instances.filter { $0.token != nil }, by: { $0.token! })
        state.withLock { state in
            for (token, group) in byToken where state.launches[token] == nil {
                let first = group[0]
                let launch = Launch(
                    token: token,
                    instanceIDs: group.map(\.instanceID).sorted(),
                    instanceType: first.instanceType,
                    availabilityZone: first.availabilityZone,
                    launchedAt: group.map(\.launchedAt).min() ?? first.launchedAt
                )
                state.launches[token] = launch
            }
        }
    }

    /// A booting instance's node is Ready since `readySince`: one launch-to-Ready sample for its pool.
    public func nodeBecameReady(instanceID: String, readySince: Timestamp) {
        state.withLock { state in
            guard let launch = state.booting.removeValue(forKey: instanceID) else { return }
            let sample = readySince - launch.launchedAt
            guard sample >= .zero else { return }
            let key = "\(launch.instanceType) \(launch.availabilityZone)"
            var samples = state.bootSamples[key, default: []]
            samples.append(sample)
            if samples.count > Self.maxSamples { samples.removeFirst(samples.count - Self.maxSamples) }
            state.bootSamples[key] = samples
        }
    }

    /// The p90 launch-to-Ready time per "instance-type zone", from the last 50 boots of each.
    public var bootLeadTimeP90ByPool: [String: Duration] {
        state.withLock { state in state.bootSamples.mapValues(Self.p90) }
    }

    /// The p90 launch-to-Ready time over every pool's recent boots; nil before the first boot is measured.
    public var bootLeadTimeP90: Duration? {
        let all = state.withLock { state in state.bootSamples.values.flatMap { $0 } }
        return all.isEmpty ? nil : Self.p90(all)
    }

    /// Nearest-rank p90.
    static func p90(_ samples: [Duration]) -> Duration {
        let sorted = samples.sorted()
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    // MARK: Failures, notices, drains

    public func recordFailure(_ failure: LaunchFailure) { state.withLock { $0.failures.append(failure) } }

    public func recordNotice(_ notice: InterruptionNotice) {
        state.withLock { state in
            if !state.notices.contains(notice) { state.notices.append(notice) }
        }
    }

    /// The failures and notices to report at `now` (older ones are dropped).
    public func reportable(at now: Timestamp) -> (failures: [LaunchFailure], notices: [InterruptionNotice]) {
        let horizon = now - retention
        return state.withLock { state in
            state.failures.removeAll { $0.failedAt < horizon }
            state.notices.removeAll { $0.receivedAt < horizon }
            return (state.failures, state.notices)
        }
    }

    /// A drain of `node` ended with the node kept: it is reported as holding drain-blocking pods, so the planner
    /// does not pick it again until a later drain of it completes.
    public func recordDrainProblem(node: String, reason: String) {
        state.withLock { $0.drainProblems[node] = reason }
    }

    public func clearDrainProblem(node: String) { _ = state.withLock { $0.drainProblems.removeValue(forKey: node) } }

    public var drainProblems: [String: String] { state.withLock { $0.drainProblems } }

    // MARK: Leader contact

    /// A leader reached the agent (an acknowledgement from a leader, or an accepted command) at `now`.
    public func leaderReached(at now: FleetInstant) {
        state.withLock { state in
            if state.leaderContact.map({ $0 < now }) ?? true { state.leaderContact = now }
        }
    }

    /// When a leader last reached the agent; nil if never since start.
    public var lastLeaderContact: FleetInstant? { state.withLock { $0.leaderContact } }
}

/// Asks the reporting service for a report now, outside its schedule (a change that matters: new pending pods,
/// a node lost, an interruption notice, a launch failure). Repeated requests before the report is sent coalesce.
public final class ReportTrigger: Sendable {
    let requests: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.requests = stream
        self.continuation = continuation
    }

    public func fire() { continuation.yield() }
}
