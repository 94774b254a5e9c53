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

    @Test("timestamps before 1970 round down to the millisecond")
    func negative() {
        #expect(Timestamp(sinceEpoch: .nanoseconds(-1)).millisecondsSinceEpoch == -1)
        #expect(Timestamp(sinceEpoch: .milliseconds(-1500)).millisecondsSinceEpoch == -1500)
    }
}
