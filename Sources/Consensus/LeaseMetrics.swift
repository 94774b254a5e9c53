import Metrics

/// The metrics one `LeaderElection` keeps, all with a `fleet` dimension: whether this process leads and under
/// which epoch, how often it became leader and stepped down (and why), and how its lease store calls fare.
///
/// | metric | type | dimensions |
/// | --- | --- | --- |
/// | `ballast_lease_leader` | gauge, 1 while leading | fleet |
/// | `ballast_lease_epoch` | gauge, the epoch last led under | fleet |
/// | `ballast_lease_became_leader_total` | counter | fleet |
/// | `ballast_lease_step_downs_total` | counter | fleet, reason (`renew_deadline`, `lease_lost`, `shutdown`) |
/// | `ballast_lease_store_calls_total` | counter | fleet, operation (`read`, `write`), outcome (`ok`, `version_mismatch`, or the error code) |
/// | `ballast_lease_store_call_duration_seconds` | timer | fleet, operation |
struct LeaseMetrics: Sendable {
    let fleet: String
    let factory: any MetricsFactory
    let leader: Gauge
    let epoch: Gauge
    let becameLeader: Counter
    private let readDuration: CoreMetrics.Timer
    private let writeDuration: CoreMetrics.Timer

    init(fleet: String, factory: any MetricsFactory) {
        self.fleet = fleet
        self.factory = factory
        let dimensions = [("fleet", fleet)]
        leader = Gauge(label: "ballast_lease_leader", dimensions: dimensions, factory: factory)
        epoch = Gauge(label: "ballast_lease_epoch", dimensions: dimensions, factory: factory)
        becameLeader = Counter(label: "ballast_lease_became_leader_total", dimensions: dimensions, factory: factory)
        readDuration = CoreMetrics.Timer(
            label: "ballast_lease_store_call_duration_seconds",
            dimensions: dimensions + [("operation", "read")],
            factory: factory
        )
        writeDuration = CoreMetrics.Timer(
            label: "ballast_lease_store_call_duration_seconds",
            dimensions: dimensions + [("operation", "write")],
            factory: factory
        )
        leader.record(0)
    }

    func ledAs(_ epoch: FencingEpoch) {
        leader.record(1)
        self.epoch.record(Double(epoch.rawValue))
        becameLeader.increment()
    }

    func steppedDown(reason: String) {
        leader.record(0)
        Counter(
            label: "ballast_lease_step_downs_total",
            dimensions: [("fleet", fleet), ("reason", reason)],
            factory: factory
        ).increment()
    }

    /// One finished store call: its duration, and its outcome (`ok`, `version_mismatch` or the error's code).
    func storeCall(_ operation: String, outcome: String, took duration: Duration) {
        (operation == "read" ? readDuration : writeDuration).record(duration: duration)
        Counter(
            label: "ballast_lease_store_calls_total",
            dimensions: [("fleet", fleet), ("operation", operation), ("outcome", outcome)],
            factory: factory
        ).increment()
    }
}
