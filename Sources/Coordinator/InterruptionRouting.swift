import AWSClients
import Cost
import FleetAPI
import Foundation
import Logging

/// What became of one notice the leader routed.
public enum InterruptionRouting: Sendable, Hashable {
    /// Every cluster that owns one of its instances acknowledged it: the message may be deleted.
    case delivered([ClusterID])
    /// No cluster of the fleet reports any of its instances (another account's tenant, an instance long gone): the
    /// message may be deleted, nobody would ever take it.
    case unknownInstances
    /// An owning agent did not acknowledge it (unreachable, or refused): the message stays on its queue and comes
    /// back after its visibility timeout.
    case notDelivered(String)
    /// This replica does not lead (now, or any more): the message stays for the leader.
    case notLeading
}

extension CoordinatorActor {
    /// The cluster each instance belongs to, as the agents' reports and the launches in flight say.
    func instanceOwners() -> [String: ClusterID] {
        var owners: [String: ClusterID] = [:]
        for (cluster, entry) in registry.entries {
            for node in entry.report.nodes where !node.instanceID.isEmpty { owners[node.instanceID] = cluster }
            for orphan in entry.report.orphans { owners[orphan] = cluster }
        }
        for launch in commands.launches.values {
            for instanceID in launch.instanceIDs where owners[instanceID] == nil { owners[instanceID] = launch.cluster }
        }
        return owners
    }

    /// Routes a notice read from an account-wide queue to the agent of each cluster that owns one of its
    /// instances, stamped with the lease's epoch and the last plan's generation; the agent handles it as one from
    /// its own queue. Journals each delivery (`interruption-routed`).
    public func route(_ notice: EC2InterruptionNotice, messageID: String) async -> InterruptionRouting {
        guard let epoch = leadership.actingEpoch() else { return .notLeading }
        let owners = instanceOwners()
        var byCluster: [ClusterID: [String]] = [:]
        var unknown: [String] = []
        for instanceID in notice.instanceIDs {
            if let owner = owners[instanceID] {
                byCluster[owner, default: []].append(instanceID)
            } else {
                unknown.append(instanceID)
            }
        }
        if !unknown.isEmpty {
            logger.info(
                "interruption notice for instances no cluster reports",
                metadata: ["sqs.message-id": "\(messageID)", "instances": "\(unknown.joined(separator: ","))"]
            )
        }
        guard !byCluster.isEmpty, let routed = Self.routed(notice) else { return .unknownInstances }
        let stamp = CommandStamp(epoch: epoch, generation: lastPlanGeneration, leader: actorSystem.nodeID)
        let sender = CommandSender(system: actorSystem, leadership: leadership, clock: clock, logger: logger)
        var delivered: [ClusterID] = []
        var problems: [String] = []
        for (cluster, instanceIDs) in byCluster.sorted(by: { $0.key < $1.key }) {
            let command = RoutedInterruption(
                stamp: stamp,
                cluster: cluster,
                messageID: messageID,
                kind: routed.kind,
                instanceIDs: instanceIDs,
                time: routed.time,
                state: routed.state
            )
            switch await sender.send(command) {
            case .accepted(let receipt):
                delivered.append(cluster)
                record(
                    "interruption-routed",
                    cluster: cluster,
                    "\(routed.kind.rawValue) for \(instanceIDs.joined(separator: ", ")) (message \(messageID)); "
                        + "handled \(receipt.handled.isEmpty ? "none" : receipt.handled.joined(separator: ", "))",
                    epoch: epoch
                )
            case .refused(let code, let message):
                problems.append("\(cluster) refused (\(code)): \(message)")
            case .unreachable(let problem):
                problems.append("\(cluster) unreachable: \(problem)")
            case .notLeading:
                return .notLeading
            }
        }
        return problems.isEmpty ? .delivered(delivered) : .notDelivered(problems.joined(separator: "; "))
    }

    /// The wire form of a notice (without stamp, cluster and instances); nil for an unreadable one.
    static func routed(
        _ notice: EC2InterruptionNotice
    ) -> (kind: RoutedInterruption.Kind, time: Timestamp?, state: String?)? {
        func timestamp(_ date: Date) -> Timestamp {
            Timestamp(sinceEpoch: .milliseconds(Int64((date.timeIntervalSince1970 * 1000).rounded())))
        }
        switch notice {
        case .spotInterruption(_, let deadline): return (.spotInterruption, timestamp(deadline), nil)
        case .rebalanceRecommendation: return (.rebalanceRecommendation, nil, nil)
        case .stateChange(_, let state): return (.stateChange, nil, state)
        case .scheduledChange(_, let start): return (.scheduledChange, start.map(timestamp), nil)
        case .unreadable: return nil
        }
    }
}
