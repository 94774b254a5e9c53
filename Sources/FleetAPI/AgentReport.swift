import Cost
import Fencing

/// What an agent sends every coordinator replica each report cycle: its cluster as the planner reads it, and what
/// only the fleet's protocol cares about, the highest fencing epoch the agent has seen (so a replica learns of a
/// newer leader, and a deposed one of its deposition).
///
/// On the wire it is one JSON object: the report's members with `highestEpochSeen` among them (docs/wire.md).
public struct AgentReport: Codable, Sendable, Hashable {
    public var cluster: ClusterReport
    public var highestEpochSeen: FencingEpoch

    public init(cluster: ClusterReport, highestEpochSeen: FencingEpoch = .none) {
        self.cluster = cluster
        self.highestEpochSeen = highestEpochSeen
    }

    private enum CodingKeys: String, CodingKey {
        case highestEpochSeen
    }

    public init(from decoder: any Decoder) throws {
        cluster = try ClusterReport(from: decoder)
        highestEpochSeen = try decoder.container(keyedBy: CodingKeys.self)
            .decode(FencingEpoch.self, forKey: .highestEpochSeen)
    }

    public func encode(to encoder: any Encoder) throws {
        try cluster.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(highestEpochSeen, forKey: .highestEpochSeen)
    }
}
