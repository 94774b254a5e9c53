// cluster-agent: Ballast's agent for one K3s cluster. Parses its config, connects to every coordinator replica
// over the wire, reports the cluster every report interval (and at once on a change that matters), executes the
// leader's launches and drains, and goes autonomous when no leader reaches it; runs in a ServiceGroup that stops
// gracefully on SIGTERM or SIGINT. This build runs against simulated ports (the `simulation:` section).
import ArgumentParser
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

@main
struct ClusterAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-agent",
        abstract: "Run Ballast's agent for one cluster."
    )

    @Option(name: .long, help: "The agent's YAML configuration file.")
    var config: String

    func run() async throws {
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

        guard settings.simulation != nil else {
            // The real ports (Prometheus, Kubernetes API, EC2, SQS) are wired by their adapters; until they are,
            // refuse rather than pretend.
            throw ValidationError(
                "\(config): simulation: this build runs the agent only against simulated ports; add a `simulation:` section (see deploy/examples)"
            )
        }
        let store: FileEpochStore
        do throws(ConfigValidationError) {
            store = try settings.epochStore()
        } catch {
            throw ValidationError("\(config): \(error.key): expected \(error.expected)")
        }
        let fence = try EpochFence(store: store)
        let ports = try await SimulatedAgentPorts(agent: settings, clock: clock)
        let ledger = AgentLedger()
        let trigger = ReportTrigger()
        let clusterID = ClusterID(settings.clusterID)
        let drains = DrainService(
            kube: ports.cluster,
            cloud: ports.cloud,
            clock: clock,
            fence: fence,
            ledger: ledger,
            trigger: trigger,
            maxConcurrent: settings.maxConcurrentDrains,
            logger: logger
        )
        let observer = PortsObserver(
            settings: .init(clusterID: clusterID, region: settings.region, availabilityZones: ports.zones),
            kube: ports.cluster,
            cloud: ports.cloud,
            metrics: ports.cluster,
            ledger: ledger,
            drains: drains,
            logger: logger
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
                cloud: ports.cloud,
                kube: ports.cluster,
                drains: drains,
                clock: clock,
                trigger: trigger,
                logger: logger
            )
        }
        try await agent.whenLocal { try await $0.recover() }
        logger.notice(
            "agent ready",
            metadata: ["ballast.epoch": "\(fence.highestSeen)", "simulated": "true", "state": "\(store.path)"]
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
                    .init(
                        service: AutonomyService(
                            settings: settings.autonomySettings,
                            clusterID: clusterID,
                            kube: ports.cluster,
                            cloud: ports.cloud,
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
        try await group.run()
        logger.notice("agent stopped")
    }
}
