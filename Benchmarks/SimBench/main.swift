// sim-bench: how fast the simulator runs and how much memory it holds. Three measurements, one run:
//   1. a week of three clusters (NASA, Twitter and Twitter shifted by 10 days, in two regions) under Ballast alone,
//   2. the same week under every policy and the oracle (what `coordctl simulate --policy all` does),
//   3. a day of N clusters (default 1,000; the three traces at different offsets, six regions) under Ballast.
// Each prints its wall time, the simulated minutes per wall second, and the process's peak RSS so far.
// Run: swift build -c release --product sim-bench && .build/release/sim-bench [path/to/traces] [clusters]
import Cost
import Foundation
import Scenarios
import Simulation
import SimulationReport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints a line at once (stdout to a file is block-buffered, and a run takes minutes).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
let traces = arguments.count > 1 ? arguments[1] : "../shared/traces"
let bigFleet = arguments.count > 2 ? Int(arguments[2]) ?? 1_000 : 1_000

/// Peak resident set size of this process so far, in MiB (VmHWM on Linux).
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1_024
    }
    return 0
}

let regions = ["us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-1", "us-east-2"]

func cluster(_ index: Int, region: String, trace: String, offsetDays: Int, medianRequests: Double) -> ScenarioCluster {
    ScenarioCluster(
        id: ClusterID("c\(index)"),
        region: region,
        zones: ["a", "b", "c"].map { region + $0 },
        trace: ScenarioTrace(path: "\(traces)/\(trace)", offsetMinutes: offsetDays * 1_440),
        // The trace's median sized to six nodes of 7 pods.
        requestsPerPod: medianRequests / 42,
        instanceTypes: ["m6i.large", "m5.large"],
        initialNodes: 6,
        minNodes: 2,
        maxNodes: 60
    )
}

func scenario(name: String, minutes: Int, clusters: [ScenarioCluster]) -> Scenario {
    Scenario(
        name: name,
        description: "sim-bench",
        durationMinutes: minutes,
        seed: 42,
        start: 1_783_296_000,
        budget: nil,
        cloud: ScenarioCloud(),
        clusters: clusters,
        events: []
    )
}

let traceFiles = [("nasa-per-minute.csv", 35.0), ("twitter-per-minute.csv", 3_093.0)]
let week = scenario(
    name: "three-cluster-week",
    minutes: 7 * 1_440,
    clusters: [
        cluster(0, region: "us-east-1", trace: traceFiles[0].0, offsetDays: 1, medianRequests: traceFiles[0].1),
        cluster(1, region: "eu-west-1", trace: traceFiles[1].0, offsetDays: 1, medianRequests: traceFiles[1].1),
        cluster(2, region: "eu-west-1", trace: traceFiles[1].0, offsetDays: 11, medianRequests: traceFiles[1].1),
    ]
)
let day = scenario(
    name: "\(bigFleet)-cluster-day",
    minutes: 1_440,
    clusters: (0..<bigFleet).map { index in
        let (file, median) = traceFiles[index % 2]
        return cluster(
            index,
            region: regions[index % regions.count],
            trace: file,
            offsetDays: index % 20,
            medianRequests: median
        )
    }
)

let catalog = try PriceCatalog.bundled()

func measure(_ label: String, _ scenario: Scenario, policies: [PolicyKind]) async throws {
    let started = ContinuousClock.now
    let result = try await FleetSimulator(
        scenario: scenario,
        catalog: catalog,
        options: .init(
            policies: policies,
            progress: { policy, done in
                let percent = Int((done * 100).rounded(.down))
                if percent % 10 == 0 { say("  … \(policy) \(percent) %, peak RSS \(Int(peakRSS())) MiB") }
            }
        )
    ).run()
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let simulated = Double(scenario.durationMinutes * scenario.clusters.count * policies.filter { $0 != .oracle }.count)
    say(
        "\(label): \(String(format: "%.1f", seconds)) s wall; \(Int(simulated / seconds)) cluster-minutes per second; peak RSS \(String(format: "%.0f", peakRSS())) MiB"
    )
    for policy in result.policies {
        say(
            "  \(policy.name): cost $\(String(format: "%.2f", policy.summary.totalCostUSD)), unschedulable \(Int(policy.summary.unschedulablePodMinutes)) pod-min"
        )
    }
}

say("sim-bench: traces from \(traces)")
try await measure("week of 3 clusters, ballast", week, policies: [.ballast])
try await measure("week of 3 clusters, every policy", week, policies: PolicyKind.allCases)
try await measure("day of \(bigFleet) clusters, ballast", day, policies: [.ballast])
