// The JSON form of a cluster report, as it crosses the wire (docs/wire.md §4): durations are whole
// milliseconds, timestamps milliseconds since the Unix epoch, so a peer in any language can read and write it.

extension ClusterReport {
    private enum CodingKeys: String, CodingKey {
        case clusterID, region, availabilityZones, nodes, pending, utilisation, notices, launchFailures
        case observedAt
        case launchToReadyP90Milliseconds
        case metricsStale
        case orphans
        case customMetrics
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            clusterID: try container.decode(ClusterID.self, forKey: .clusterID),
            region: try container.decode(String.self, forKey: .region),
            availabilityZones: try container.decode([String].self, forKey: .availabilityZones),
            nodes: try container.decode([NodeReport].self, forKey: .nodes),
            pending: try container.decode(PendingPods.self, forKey: .pending),
            utilisation: try container.decode(Utilisation.self, forKey: .utilisation),
            notices: try container.decode([InterruptionNotice].self, forKey: .notices),
            launchFailures: try container.decode([LaunchFailure].self, forKey: .launchFailures),
            observedAt: try container.decode(Timestamp.self, forKey: .observedAt),
            launchToReadyP90: try container.decodeIfPresent(Int64.self, forKey: .launchToReadyP90Milliseconds).map {
                Duration.milliseconds($0)
            },
            metricsStale: try container.decode(Bool.self, forKey: .metricsStale),
            // Absent in an older peer's report: it knows of no orphans.
            orphans: try container.decodeIfPresent([String].self, forKey: .orphans) ?? [],
            // Absent (an agent older than the field, or one with no custom metrics) is none.
            customMetrics: try container.decodeIfPresent([CustomMetricReport].self, forKey: .customMetrics) ?? []
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(clusterID, forKey: .clusterID)
        try container.encode(region, forKey: .region)
        try container.encode(availabilityZones, forKey: .availabilityZones)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(pending, forKey: .pending)
        try container.encode(utilisation, forKey: .utilisation)
        try container.encode(notices, forKey: .notices)
        try container.encode(launchFailures, forKey: .launchFailures)
        try container.encode(observedAt, forKey: .observedAt)
        if let launchToReadyP90 {
            let (seconds, attoseconds) = launchToReadyP90.components
            try container.encode(
                seconds * 1_000 + attoseconds / 1_000_000_000_000_000,
                forKey: .launchToReadyP90Milliseconds
            )
        }
        try container.encode(metricsStale, forKey: .metricsStale)
        // Left out when empty, so a report with no orphans is the same bytes an older peer writes and reads.
        if !orphans.isEmpty { try container.encode(orphans, forKey: .orphans) }
        // Left out when empty, so a report without custom metrics is the same bytes an older agent wrote.
        if !customMetrics.isEmpty { try container.encode(customMetrics, forKey: .customMetrics) }
    }
}
