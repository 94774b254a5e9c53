// cluster-agent: Ballast's agent for one K3s cluster. Parses its config, connects to every coordinator replica
// over the wire, reports the cluster every report interval (and at once on a change that matters), executes the
// leader's launches and drains, and goes autonomous when no leader reaches it; runs in a ServiceGroup that stops
// gracefully on SIGTERM or SIGINT. This build runs against simulated ports (the `simulation:` section).
import AgentAdapters
import ArgumentParser
import AsyncHTTPClient
import BallastConfig
import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Logging
import Observability
import ServiceLifecycle
import Simulation
import Wire

#if canImport(Glibc)
import Glibc

/// glibc's `mallopt(3)` (malloc.h is not part of the Glibc module).
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

@main
struct ClusterAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-agent",
        abstract: "Run Ballast's agent for one cluster."
    )

    @Option(name: .long, help: "The agent's YAML configuration file.")
    var config: String

    func run() async throws {
        #if canImport(Glibc)
        // glibc gives each thread that allocates its own arena (up to 8 per core), and every arena keeps the
        // freed memory of the last cluster listing: two arenas hold the agent's RSS ~8 MB lower with 200 nodes
        // (docs/benchmarks.md, agent memory). MALLOC_ARENA_MAX in the environment still overrides it.
        // M_ARENA_MAX is -8 in malloc.h, which the Glibc module does not import.
        if getenv("MALLOC_ARENA_MAX") == nil { _ = glibcMallopt(-8, 2) }
        #endif
        let (settings, secrets): (AgentConfiguration, WireSecrets)
        do {
            (settings, secrets) = try ConfigLoader.load(AgentConfiguration.self, from: config) {
                config throws(ConfigValidationError) in try config.wireSecrets()
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = Observability.bootstrap(logLevel: Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info)
        var logger = Logger(label: "ballast.agent")
        logger[metadataKey: "ballast.cluster"] = "\(settings.clusterID)"
        let clock = SystemClock()

        let store: FileEpochStore
        do throws(ConfigValidationError) {
            store = try settings.epochStore()
        } catch {
            throw ValidationError("\(config): \(error.key): expected \(error.expected)")
        }
        let fence = try EpochFence(store: store)
        // The ports: the real cluster (Kubernetes, Prometheus, EC2, SQS), or the demo's simulated one.
        let kube: any KubeAPI
        let metricsSource: any MetricsSource
        let cloud: any CloudProvider
        let zones: [String]
        var interruptionSource: (any InterruptionSource)?
        var realPorts: RealAgentPorts?
        if settings.simulation != nil {
            let simulated = try await SimulatedAgentPorts(agent: settings, clock: clock)
            (kube, metricsSource, cloud, zones) = (
                simulated.cluster, simulated.cluster, simulated.cloud, simulated.zones
            )
        } else {
            let real: RealAgentPorts
            do {
                real = try RealAgentPorts(agent: settings, httpClient: HTTPClient.shared, logger: logger)
            } catch {
                throw ValidationError("\(config): \(error.key): expected \(error.expected)")
            }
            (kube, metricsSource, cloud, zones) = (real.kube, real.metrics, real.cloud, real.zones)
            interruptionSource = real.interruptions
            realPorts = real
        }
        let ledger = AgentLedger()
        let trigger = ReportTrigger()
        let clusterID = ClusterID(settings.clusterID)
        let drains = DrainService(
            kube: kube,
            cloud: cloud,
            clock: clock,
            fence: fence,
            ledger: ledger,
            trigger: trigger,
            maxConcurrent: settings.maxConcurrentDrains,
            logger: logger
        )
        let observer = PortsObserver(
            settings: .init(clusterID: clusterID, region: settings.region, availabilityZones: zones),
            kube: kube,
            cloud: cloud,
            metrics: metricsSource,
            ledger: ledger,
            drains: drains,
            logger: logger
        )

        // One handler for the notices of the agent's own queue and those the leader routes from the account's.
        let interruptions = InterruptionHandler(
            kube: kube,
            cloud: cloud,
            drains: drains,
            ledger: ledger,
            trigger: trigger,
            rebalance: settings.rebalance,
            clock: clock,
            logger: logger,
            metrics: AgentMetrics(cluster: clusterID)
        )

        let system = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: settings.clusterID, role: .agent, secrets: secrets),
            logger: Logger(label: "ballast.wire")
        )
        let agent = system.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            ClusterAgentActor(
                actorSystem: system,
                settings: .init(clusterID: clusterID, maxDrainDeadline: settings.drainDeadline.duration),
                fence: fence,
                ledger: ledger,
                cloud: cloud,
                kube: kube,
                drains: drains,
                clock: clock,
                trigger: trigger,
                logger: logger,
                interruptions: interruptions
            )
        }
        try await agent.whenLocal { try await $0.recover() }
        logger.notice(
            "agent ready",
            metadata: [
                "ballast.epoch": "\(fence.highestSeen)", "simulated": "\(settings.simulation != nil)",
                "state": "\(store.path)",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: WireSystemService(system: system)),
                    .init(service: WireDialService(system: system, peers: settings.coordinatorPeers, logger: logger)),
                    .init(service: drains),
                    .init(
                        service: ReportingService(
                            system: system,
                            observer: observer,
                            interval: settings.reportInterval.duration,
                            clock: clock,
                            logger: logger,
                            trigger: trigger,
                            fence: fence,
                            ledger: ledger
                        )
                    ),
                    .init(service: ChangeWatchService(observer: observer, trigger: trigger, clock: clock)),
                ]
                    + (interruptionSource.map { source in
                        [
                            ServiceGroupConfiguration.ServiceConfiguration(
                                service: InterruptionService(
                                    source: source,
                                    handler: interruptions,
                                    clock: clock,
                                    logger: logger
                                )
                            )
                        ]
                    } ?? []) + [
                        .init(
                            service: AutonomyService(
                                settings: settings.autonomySettings,
                                clusterID: clusterID,
                                kube: kube,
                                cloud: cloud,
                                ledger: ledger,
                                clock: clock,
                                logger: logger
                            )
                        ),
                        .init(
                            service: MetricsEndpoint(
                                configuration: .init(host: settings.metrics.host, port: settings.metrics.port),
                                registry: registry,
                                logger: logger
                            )
                        ),
                    ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await realPorts?.shutdown()
            throw error
        }
        await realPorts?.shutdown()
        logger.notice("agent stopped")
    }
}
