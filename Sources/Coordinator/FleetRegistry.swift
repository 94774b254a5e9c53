import Cost

/// The latest report of every cluster, with when it arrived on this replica's monotonic clock. Followers keep it
/// as warm as the leader, so a new leader plans at once.
public struct FleetRegistry<Instant: InstantProtocol>: Sendable where Instant: Sendable, Instant.Duration == Duration {
    public struct Entry: Sendable {
        public var report: ClusterReport
        public var receivedAt: Instant
    }

    public private(set) var entries: [ClusterID: Entry] = [:]

    public init() {}

    /// Records a report unless an older one arrives late (reports from one agent may cross on the wire).
    /// Returns whether it was taken.
    @discardableResult
    public mutating func record(_ report: ClusterReport, at now: Instant) -> Bool {
        if let existing = entries[report.clusterID], existing.report.observedAt > report.observedAt {
            return false
        }
        entries[report.clusterID] = Entry(report: report, receivedAt: now)
        return true
    }

    /// Clusters whose last report is older than `lostAfter`, in id order.
    public func silentClusters(at now: Instant, lostAfter: Duration) -> [ClusterID] {
        entries.filter { $0.value.receivedAt.duration(to: now) >= lostAfter }.map(\.key).sorted()
    }

    /// The reports to plan with, in cluster id order.
    public var reports: [ClusterReport] {
        entries.keys.sorted().compactMap { entries[$0]?.report }
    }
}
