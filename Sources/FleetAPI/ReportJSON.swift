import Cost
import Fencing
import Wire
import WireJSON

extension FleetAPI {
    /// Hand-written JSON coders for the values sent on every report cycle (`AgentReport` and its answer), for
    /// `WireActorSystem.Configuration.jsonCoders`. They write the same bytes as Foundation's `JSONEncoder` with
    /// sorted keys and leave any document they do not fully understand to `JSONDecoder`.
    public static let jsonCoders: [WireJSONCoder] = [
        WireJSONCoder(AgentReport.self, write: ReportJSON.write, read: ReportJSON.readReport),
        WireJSONCoder(ReportAcknowledgement.self, write: ReportJSON.write, read: ReportJSON.readAcknowledgement),
    ]
}

/// The JSON of a report, member by member, keys in sorted (UTF-8 byte) order as `JSONEncoder` writes them. Each
/// type's members are those of its `Codable` conformance (synthesized, or Cost/ReportCoding.swift for the
/// report itself); the tests compare every type's stored properties and bytes with Foundation's, so a member
/// added to a type without being added here fails them.
enum ReportJSON {
    typealias Mismatch = WireJSONReader.Mismatch

    // MARK: Writing

    static func write(_ agentReport: AgentReport, to writer: inout WireJSONWriter) {
        let report = agentReport.cluster
        writer.beginObject()
        writer.key("availabilityZones")
        writer.beginArray()
        for zone in report.availabilityZones {
            writer.element()
            writer.write(zone)
        }
        writer.endArray()
        writer.key("clusterID")
        writer.write(report.clusterID.rawValue)
        if !report.customMetrics.isEmpty {
            // Left out when empty, as `ClusterReport.encode(to:)` does.
            writer.key("customMetrics")
            writer.beginArray()
            for metric in report.customMetrics {
                writer.element()
                write(metric, to: &writer)
            }
            writer.endArray()
        }
        writer.key("highestEpochSeen")
        writer.write(agentReport.highestEpochSeen.rawValue)
        writer.key("launchFailures")
        writer.beginArray()
        for failure in report.launchFailures {
            writer.element()
            write(failure, to: &writer)
        }
        writer.endArray()
        if let p90 = report.launchToReadyP90 {
            // Whole milliseconds, truncated as `ClusterReport.encode(to:)` does (Cost/ReportCoding.swift).
            let (seconds, attoseconds) = p90.components
            let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
            let (total, overflow2) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
            guard !overflow, !overflow2 else {
                writer.declineValue()
                return
            }
            writer.key("launchToReadyP90Milliseconds")
            writer.write(total)
        }
        writer.key("metricsStale")
        writer.write(report.metricsStale)
        writer.key("nodes")
        writer.beginArray()
        for node in report.nodes {
            writer.element()
            write(node, to: &writer)
        }
        writer.endArray()
        writer.key("notices")
        writer.beginArray()
        for notice in report.notices {
            writer.element()
            write(notice, to: &writer)
        }
        writer.endArray()
        writer.key("observedAt")
        writer.write(report.observedAt.millisecondsSinceEpoch)
        if !report.orphans.isEmpty {
            // Left out when empty, as `ClusterReport.encode(to:)` does.
            writer.key("orphans")
            writer.beginArray()
            for orphan in report.orphans {
                writer.element()
                writer.write(orphan)
            }
            writer.endArray()
        }
        writer.key("pending")
        writer.beginObject()
        writer.key("count")
        writer.write(report.pending.count)
        writer.key("largestRequest")
        write(report.pending.largestRequest, to: &writer)
        writer.key("totalRequests")
        write(report.pending.totalRequests, to: &writer)
        writer.endObject()
        writer.key("region")
        writer.write(report.region)
        writer.key("utilisation")
        writer.beginObject()
        writer.key("cpu")
        writer.write(report.utilisation.cpu)
        writer.key("memory")
        writer.write(report.utilisation.memory)
        writer.endObject()
        writer.endObject()
    }

    static func write(_ node: NodeReport, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("allocatable")
        write(node.allocatable, to: &writer)
        writer.key("availabilityZone")
        writer.write(node.availabilityZone)
        writer.key("hasDrainBlockingPods")
        writer.write(node.hasDrainBlockingPods)
        writer.key("instanceID")
        writer.write(node.instanceID)
        writer.key("instanceType")
        writer.write(node.instanceType)
        writer.key("launchedAt")
        writer.write(node.launchedAt.millisecondsSinceEpoch)
        writer.key("market")
        writer.write(node.market.rawValue)
        writer.key("name")
        writer.write(node.name)
        writer.key("podCount")
        writer.write(node.podCount)
        writer.key("requested")
        write(node.requested, to: &writer)
        writer.key("state")
        writer.write(node.state.rawValue)
        writer.endObject()
    }

    static func write(_ resources: Resources, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("cpuMillicores")
        writer.write(resources.cpuMillicores)
        writer.key("memoryBytes")
        writer.write(resources.memoryBytes)
        writer.endObject()
    }

    static func write(_ metric: CustomMetricReport, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("name")
        writer.write(metric.name)
        writer.key("stale")
        writer.write(metric.stale)
        writer.key("targetPerNode")
        writer.write(metric.targetPerNode)
        writer.key("value")
        writer.write(metric.value)
        writer.endObject()
    }

    static func write(_ notice: InterruptionNotice, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("availabilityZone")
        writer.write(notice.availabilityZone)
        writer.key("instanceType")
        writer.write(notice.instanceType)
        writer.key("kind")
        writer.write(notice.kind.rawValue)
        writer.key("nodeName")
        writer.write(notice.nodeName)
        writer.key("receivedAt")
        writer.write(notice.receivedAt.millisecondsSinceEpoch)
        writer.endObject()
    }

    static func write(_ failure: LaunchFailure, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("availabilityZone")
        writer.write(failure.availabilityZone)
        writer.key("failedAt")
        writer.write(failure.failedAt.millisecondsSinceEpoch)
        writer.key("instanceType")
        writer.write(failure.instanceType)
        writer.key("market")
        writer.write(failure.market.rawValue)
        writer.key("reason")
        writer.write(failure.reason)
        writer.endObject()
    }

    static func write(_ acknowledgement: ReportAcknowledgement, to writer: inout WireJSONWriter) {
        writer.beginObject()
        writer.key("coordinator")
        writer.write(acknowledgement.coordinator)
        writer.key("epoch")
        writer.write(acknowledgement.epoch.rawValue)
        writer.key("isLeader")
        writer.write(acknowledgement.isLeader)
        writer.endObject()
    }

    // MARK: Reading

    static func readReport(_ reader: inout WireJSONReader) throws(Mismatch) -> AgentReport {
        var zones: [String]?
        var clusterID: String?
        var customMetrics: [CustomMetricReport]??
        var highestEpochSeen: UInt64?
        var launchFailures: [LaunchFailure]?
        var p90: Duration??
        var metricsStale: Bool?
        var nodes: [NodeReport]?
        var notices: [InterruptionNotice]?
        var observedAt: Timestamp?
        var orphans: [String]?
        var pending: PendingPods?
        var region: String?
        var utilisation: Utilisation?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "availabilityZones":
                try WireJSONReader.set(
                    &zones,
                    try readArray(&reader) { reader throws(Mismatch) in try reader.readString() }
                )
            case "clusterID": try WireJSONReader.set(&clusterID, try reader.readString())
            case "customMetrics":
                if reader.readNull() {
                    try WireJSONReader.set(&customMetrics, [CustomMetricReport]?.none)
                } else {
                    try WireJSONReader.set(&customMetrics, try readArray(&reader, readCustomMetric))
                }
            case "highestEpochSeen": try WireJSONReader.set(&highestEpochSeen, try reader.readUInt64())
            case "launchFailures": try WireJSONReader.set(&launchFailures, try readArray(&reader, readLaunchFailure))
            case "launchToReadyP90Milliseconds":
                if reader.readNull() {
                    try WireJSONReader.set(&p90, Duration?.none)
                } else {
                    try WireJSONReader.set(&p90, Duration.milliseconds(try reader.readInt64()))
                }
            case "metricsStale": try WireJSONReader.set(&metricsStale, try reader.readBool())
            case "nodes": try WireJSONReader.set(&nodes, try readArray(&reader, readNode))
            case "notices": try WireJSONReader.set(&notices, try readArray(&reader, readNotice))
            case "observedAt": try WireJSONReader.set(&observedAt, try readTimestamp(&reader))
            case "orphans":
                try WireJSONReader.set(
                    &orphans,
                    try readArray(&reader) { reader throws(Mismatch) in try reader.readString() }
                )
            case "pending": try WireJSONReader.set(&pending, try readPending(&reader))
            case "region": try WireJSONReader.set(&region, try reader.readString())
            case "utilisation": try WireJSONReader.set(&utilisation, try readUtilisation(&reader))
            default: throw Mismatch()
            }
        }
        guard let zones, let clusterID, let highestEpochSeen, let launchFailures, let metricsStale, let nodes,
            let notices, let observedAt, let pending, let region, let utilisation
        else { throw Mismatch() }
        let report = ClusterReport(
            clusterID: ClusterID(clusterID),
            region: region,
            availabilityZones: zones,
            nodes: nodes,
            pending: pending,
            utilisation: utilisation,
            notices: notices,
            launchFailures: launchFailures,
            observedAt: observedAt,
            launchToReadyP90: p90 ?? nil,
            metricsStale: metricsStale,
            orphans: orphans ?? [],
            customMetrics: (customMetrics ?? nil) ?? []
        )
        return AgentReport(cluster: report, highestEpochSeen: FencingEpoch(highestEpochSeen))
    }

    static func readNode(_ reader: inout WireJSONReader) throws(Mismatch) -> NodeReport {
        var allocatable: Resources?
        var zone: String?
        var hasDrainBlockingPods: Bool?
        var instanceID: String?
        var instanceType: String?
        var launchedAt: Timestamp?
        var market: Market?
        var name: String?
        var podCount: Int?
        var requested: Resources?
        var state: NodeState?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "allocatable": try WireJSONReader.set(&allocatable, try readResources(&reader))
            case "availabilityZone": try WireJSONReader.set(&zone, try reader.readString())
            case "hasDrainBlockingPods": try WireJSONReader.set(&hasDrainBlockingPods, try reader.readBool())
            case "instanceID": try WireJSONReader.set(&instanceID, try reader.readString())
            case "instanceType": try WireJSONReader.set(&instanceType, try reader.readString())
            case "launchedAt": try WireJSONReader.set(&launchedAt, try readTimestamp(&reader))
            case "market": try WireJSONReader.set(&market, try readRaw(&reader, Market.self))
            case "name": try WireJSONReader.set(&name, try reader.readString())
            case "podCount": try WireJSONReader.set(&podCount, try reader.readInt())
            case "requested": try WireJSONReader.set(&requested, try readResources(&reader))
            case "state": try WireJSONReader.set(&state, try readRaw(&reader, NodeState.self))
            default: throw Mismatch()
            }
        }
        guard let allocatable, let zone, let hasDrainBlockingPods, let instanceID, let instanceType, let launchedAt,
            let market, let name, let podCount, let requested, let state
        else { throw Mismatch() }
        return NodeReport(
            name: name,
            instanceID: instanceID,
            instanceType: instanceType,
            market: market,
            availabilityZone: zone,
            state: state,
            launchedAt: launchedAt,
            allocatable: allocatable,
            requested: requested,
            podCount: podCount,
            hasDrainBlockingPods: hasDrainBlockingPods
        )
    }

    static func readResources(_ reader: inout WireJSONReader) throws(Mismatch) -> Resources {
        var cpu: Int?
        var memory: Int?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "cpuMillicores": try WireJSONReader.set(&cpu, try reader.readInt())
            case "memoryBytes": try WireJSONReader.set(&memory, try reader.readInt())
            default: throw Mismatch()
            }
        }
        guard let cpu, let memory else { throw Mismatch() }
        return Resources(cpuMillicores: cpu, memoryBytes: memory)
    }

    static func readPending(_ reader: inout WireJSONReader) throws(Mismatch) -> PendingPods {
        var count: Int?
        var largest: Resources?
        var total: Resources?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "count": try WireJSONReader.set(&count, try reader.readInt())
            case "largestRequest": try WireJSONReader.set(&largest, try readResources(&reader))
            case "totalRequests": try WireJSONReader.set(&total, try readResources(&reader))
            default: throw Mismatch()
            }
        }
        guard let count, let largest, let total else { throw Mismatch() }
        return PendingPods(count: count, totalRequests: total, largestRequest: largest)
    }

    static func readUtilisation(_ reader: inout WireJSONReader) throws(Mismatch) -> Utilisation {
        var cpu: Double?
        var memory: Double?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "cpu": try WireJSONReader.set(&cpu, try reader.readDouble())
            case "memory": try WireJSONReader.set(&memory, try reader.readDouble())
            default: throw Mismatch()
            }
        }
        guard let cpu, let memory else { throw Mismatch() }
        return Utilisation(cpu: cpu, memory: memory)
    }

    static func readCustomMetric(_ reader: inout WireJSONReader) throws(Mismatch) -> CustomMetricReport {
        var name: String?
        var stale: Bool?
        var targetPerNode: Double?
        var value: Double?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "name": try WireJSONReader.set(&name, try reader.readString())
            case "stale": try WireJSONReader.set(&stale, try reader.readBool())
            case "targetPerNode": try WireJSONReader.set(&targetPerNode, try reader.readDouble())
            case "value": try WireJSONReader.set(&value, try reader.readDouble())
            default: throw Mismatch()
            }
        }
        guard let name, let stale, let targetPerNode, let value else { throw Mismatch() }
        return CustomMetricReport(name: name, value: value, targetPerNode: targetPerNode, stale: stale)
    }

    static func readNotice(_ reader: inout WireJSONReader) throws(Mismatch) -> InterruptionNotice {
        var zone: String?
        var instanceType: String?
        var kind: InterruptionNotice.Kind?
        var nodeName: String?
        var receivedAt: Timestamp?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "availabilityZone": try WireJSONReader.set(&zone, try reader.readString())
            case "instanceType": try WireJSONReader.set(&instanceType, try reader.readString())
            case "kind": try WireJSONReader.set(&kind, try readRaw(&reader, InterruptionNotice.Kind.self))
            case "nodeName": try WireJSONReader.set(&nodeName, try reader.readString())
            case "receivedAt": try WireJSONReader.set(&receivedAt, try readTimestamp(&reader))
            default: throw Mismatch()
            }
        }
        guard let zone, let instanceType, let kind, let nodeName, let receivedAt else { throw Mismatch() }
        return InterruptionNotice(
            kind: kind,
            nodeName: nodeName,
            instanceType: instanceType,
            availabilityZone: zone,
            receivedAt: receivedAt
        )
    }

    static func readLaunchFailure(_ reader: inout WireJSONReader) throws(Mismatch) -> LaunchFailure {
        var zone: String?
        var failedAt: Timestamp?
        var instanceType: String?
        var market: Market?
        var reason: String?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "availabilityZone": try WireJSONReader.set(&zone, try reader.readString())
            case "failedAt": try WireJSONReader.set(&failedAt, try readTimestamp(&reader))
            case "instanceType": try WireJSONReader.set(&instanceType, try reader.readString())
            case "market": try WireJSONReader.set(&market, try readRaw(&reader, Market.self))
            case "reason": try WireJSONReader.set(&reason, try reader.readString())
            default: throw Mismatch()
            }
        }
        guard let zone, let failedAt, let instanceType, let market, let reason else { throw Mismatch() }
        return LaunchFailure(
            instanceType: instanceType,
            market: market,
            availabilityZone: zone,
            failedAt: failedAt,
            reason: reason
        )
    }

    static func readAcknowledgement(_ reader: inout WireJSONReader) throws(Mismatch) -> ReportAcknowledgement {
        var coordinator: String?
        var epoch: UInt64?
        var isLeader: Bool?
        try reader.readObject { reader, key throws(Mismatch) in
            switch key {
            case "coordinator": try WireJSONReader.set(&coordinator, try reader.readString())
            case "epoch": try WireJSONReader.set(&epoch, try reader.readUInt64())
            case "isLeader": try WireJSONReader.set(&isLeader, try reader.readBool())
            default: throw Mismatch()
            }
        }
        guard let coordinator, let epoch, let isLeader else { throw Mismatch() }
        return ReportAcknowledgement(coordinator: coordinator, isLeader: isLeader, epoch: FencingEpoch(epoch))
    }

    static func readTimestamp(_ reader: inout WireJSONReader) throws(Mismatch) -> Timestamp {
        Timestamp(sinceEpoch: .milliseconds(try reader.readInt64()))
    }

    static func readRaw<Value: RawRepresentable>(
        _ reader: inout WireJSONReader,
        _ type: Value.Type
    ) throws(Mismatch) -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: try reader.readString()) else { throw Mismatch() }
        return value
    }

    static func readArray<Element>(
        _ reader: inout WireJSONReader,
        _ element: (inout WireJSONReader) throws(Mismatch) -> Element
    ) throws(Mismatch) -> [Element] {
        var elements: [Element] = []
        try reader.readArray { reader throws(Mismatch) in elements.append(try element(&reader)) }
        return elements
    }
}
