import Clocks
import ClusterAgent
import Cost

/// The simulated ports an agent's `simulation:` section describes (the demo): a simulated cloud seeded with the
/// section's workers (two on-demand, the rest spot, spread over the zones), and a simulated cluster on it with a
/// node-exporter DaemonSet and one `web` workload whose replicas follow the trace. The real agent runs against them.
///
/// The simulated world runs `minutes-per-second × 60` times faster than the agent's clock (a `ScaledClock`): the
/// trace plays a minute per scaled minute, and boots, readiness, pod starts and terminations take their scaled
/// time, so a day replayed in a minute still has instances that boot in a minute and a half of the day.
public struct SimulatedAgentPorts: Sendable {
    public let cloud: SimulatedCloud
    public let cluster: SimulatedCluster
    public let zones: [String]
    /// The simulated world's own clock: the agent's, sped up.
    public let clock: any FleetClock

    static func scaled<Base: FleetClock>(_ base: Base, by factor: Double) -> any FleetClock {
        ScaledClock(base: base, factor: factor)
    }

    /// Unset keys take the defaults documented on `AgentConfiguration.SimulationEntry`.
    public init(agent configuration: AgentConfiguration, clock: any FleetClock, seed: UInt64 = 1) async throws {
        guard let simulation = configuration.simulation else {
            throw CostError(
                .invalidSeries,
                context: "simulation",
                message: "the agent's configuration has no `simulation:` section"
            )
        }
        let trace = try RequestTrace.load(csv: simulation.trace)
        let zones = simulation.zones ?? ["a", "b", "c"].map { configuration.region + $0 }
        let instanceType = simulation.instanceType ?? "m6i.large"
        let factor = max(1e-3, simulation.minutesPerSecond ?? 1) * 60
        let clock = Self.scaled(clock, by: factor)
        let cloud = SimulatedCloud(
            clusterID: ClusterID(configuration.clusterID),
            clock: clock,
            boot: .logNormal(p50: .seconds(90), p90: .seconds(150)),
            seed: seed
        )
        let workers = simulation.nodes ?? 6
        for index in 0..<workers {
            cloud.seedRunning(
                SimulatedCloud.Pool(
                    instanceType: instanceType,
                    market: index < 2 ? .onDemand : .spot,
                    availabilityZone: zones[index % zones.count]
                ),
                count: 1,
                launchedAt: clock.timestamp
            )
        }
        let cluster = SimulatedCluster(cloud: cloud, clock: clock)
        await cluster.addDaemonSet("node-exporter", podRequest: Resources(cpuMillicores: 50, memoryBytes: 64 << 20))
        let podRequest = Resources(cpuMillicores: 250, memoryBytes: 512 << 20)
        await cluster.addWorkload(.init(name: "web", replicas: 0, podRequest: podRequest))
        await cluster.addDisruptionBudget(workload: "web", maxUnavailable: 2)
        await cluster.setDemand(
            .init(
                workload: "web",
                trace: trace,
                requestsPerPod: simulation.requestsPerPod ?? max(1, trace.median / 40),
                minutesPerSecond: 1.0 / 60,
                startMinute: Double(simulation.startMinute ?? 0)
            )
        )
        self.cloud = cloud
        self.clock = clock
        self.cluster = cluster
        self.zones = zones
    }
}
