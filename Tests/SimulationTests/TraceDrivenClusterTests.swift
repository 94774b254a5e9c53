import Cost
import Foundation
import Simulation
import Testing

@Suite("trace-driven simulated cluster")
struct TraceDrivenClusterTests {
    static let shape = TraceDrivenCluster.Shape(
        clusterID: "sim",
        region: "eu-west-1",
        zones: ["eu-west-1a", "eu-west-1b"],
        nodes: 2,
        onDemandNodes: 1,
        requestsPerPod: 100
    )

    @Test("pods fill the workers in order and what does not fit is pending")
    func pending() async throws {
        // 2,000 requests a minute at 100 per pod: 20 pods; an m6i.large-sized worker fits 7 of 250m.
        let trace = try RequestTrace(requestsPerMinute: [2_000, 2_000])
        let start = Timestamp(year: 2026, month: 11, day: 25)
        let cluster = TraceDrivenCluster(shape: Self.shape, trace: trace, bootedAt: start)
        let report = try await cluster.observe(at: start)
        #expect(report.nodes.map(\.podCount) == [7, 7])
        #expect(report.pending.count == 6)
        #expect(report.pending.largestRequest == Resources(cpuMillicores: 250, memoryBytes: 512 << 20))
        #expect(report.nodes.map(\.market) == [.onDemand, .spot])
        #expect(report.nodes.map(\.availabilityZone) == ["eu-west-1a", "eu-west-1b"])
    }

    @Test("the trace advances with time and wraps around")
    func advances() async throws {
        let trace = try RequestTrace(requestsPerMinute: [100, 500, 900])
        #expect(trace.requests(atMinute: 1.5) == 700)
        #expect(trace.requests(atMinute: 4) == 500)
        let start = Timestamp(year: 2026, month: 11, day: 25)
        let cluster = TraceDrivenCluster(shape: Self.shape, trace: trace, bootedAt: start)
        _ = try await cluster.observe(at: start)
        let later = try await cluster.observe(at: start + .seconds(2))
        #expect(later.nodes.reduce(0) { $0 + $1.podCount } + later.pending.count == 9)
    }

    @Test("a malformed trace names its file and line")
    func malformed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "trace-\(UInt32.random(in: 0...UInt32.max)).csv"
        ).path
        try "minute,requests\n0,5\n1,x\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: TraceError.self) { try RequestTrace.load(csv: path) }
        #expect(error?.line == 3)
        #expect(error?.description.hasPrefix(path + ":3:") == true)
    }

    @Test("the shared traces load")
    func sharedTraces() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.deletingLastPathComponent().appendingPathComponent("shared/traces/twitter-per-minute.csv").path
        let trace = try RequestTrace.load(csv: path)
        #expect(trace.requestsPerMinute.count == 31_652)
        #expect(trace.median > 0)
    }
}
