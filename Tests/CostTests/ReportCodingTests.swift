import Cost
import Foundation
import Testing

@Suite("report JSON")
struct ReportCodingTests {
    static let report = ClusterReport(
        clusterID: "eu-web",
        region: "eu-west-1",
        availabilityZones: ["eu-west-1a"],
        nodes: [
            NodeReport(
                name: "n1",
                instanceID: "i-1",
                instanceType: "m6i.large",
                market: .spot,
                availabilityZone: "eu-west-1a",
                state: .ready,
                launchedAt: Timestamp(secondsSinceEpoch: 1_764_000_000),
                allocatable: Resources(cpuMillicores: 1930, memoryBytes: 1 << 30),
                requested: Resources(cpuMillicores: 500, memoryBytes: 1 << 29),
                podCount: 3
            )
        ],
        observedAt: Timestamp(sinceEpoch: .seconds(1_764_032_400) + .milliseconds(5)),
        launchToReadyP90: .seconds(95)
    )

    @Test("timestamps, durations and ids are plain JSON numbers and strings a peer in any language reads")
    func plainForm() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(Self.report), as: UTF8.self)
        #expect(json.contains(#""clusterID":"eu-web""#))
        #expect(json.contains(#""observedAt":1764032400005"#))
        #expect(json.contains(#""launchToReadyP90Milliseconds":95000"#))
        #expect(json.contains(#""launchedAt":1764000000000"#))
    }

    @Test("a report survives the round trip through JSON")
    func roundTrip() throws {
        let decoded = try JSONDecoder().decode(ClusterReport.self, from: JSONEncoder().encode(Self.report))
        #expect(decoded == Self.report)
        var unmeasured = Self.report
        unmeasured.launchToReadyP90 = nil
        #expect(try JSONDecoder().decode(ClusterReport.self, from: JSONEncoder().encode(unmeasured)) == unmeasured)
    }

    @Test("custom metrics survive the round trip; a report without them writes no member and reads as none")
    func customMetricsRoundTrip() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var withMetrics = Self.report
        withMetrics.customMetrics = [
            CustomMetricReport(name: "queue_depth", value: 250, targetPerNode: 100),
            CustomMetricReport(name: "jobs", value: 0.5, targetPerNode: 2, stale: true),
        ]
        let json = String(decoding: try encoder.encode(withMetrics), as: UTF8.self)
        #expect(
            json.contains(
                #""customMetrics":[{"name":"queue_depth","stale":false,"targetPerNode":100,"value":250},{"name":"jobs","stale":true,"targetPerNode":2,"value":0.5}]"#
            )
        )
        #expect(try JSONDecoder().decode(ClusterReport.self, from: Data(json.utf8)) == withMetrics)

        // None: no member at all, so the bytes are those an agent older than the field writes.
        let plain = String(decoding: try encoder.encode(Self.report), as: UTF8.self)
        #expect(!plain.contains("customMetrics"))
        #expect(try JSONDecoder().decode(ClusterReport.self, from: Data(plain.utf8)).customMetrics == [])
        // A peer that writes null for an absent member.
        let null = plain.replacingOccurrences(of: #""clusterID":"#, with: #""customMetrics":null,"clusterID":"#)
        #expect(null.contains("null"))
        #expect(try JSONDecoder().decode(ClusterReport.self, from: Data(null.utf8)) == Self.report)
    }

    @Test("timestamps before 1970 round down to the millisecond")
    func negative() {
        #expect(Timestamp(sinceEpoch: .nanoseconds(-1)).millisecondsSinceEpoch == -1)
        #expect(Timestamp(sinceEpoch: .milliseconds(-1500)).millisecondsSinceEpoch == -1500)
    }
}
