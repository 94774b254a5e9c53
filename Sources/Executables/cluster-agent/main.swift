// cluster-agent: Ballast's agent for one K3s cluster. Parses its config, connects to every coordinator replica
// over the wire, and reports the cluster every report interval; runs in a ServiceGroup that stops gracefully on
// SIGTERM or SIGINT.
import ArgumentParser
import BallastConfig
import Clocks
import ClusterAgent
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
            // The real observer (Prometheus, Kubernetes API, EC2) is not built yet; refuse rather than pretend.
            throw ValidationError(
                "\(config): simulation: this build observes only simulated clusters; add a `simulation:` section (see deploy/examples)"
            )
        }
        let observer = try TraceDrivenCluster(agent: settings, bootedAt: clock.timestamp)

        let system = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: settings.clusterID, role: .agent, secrets: secrets),
            logger: Logger(label: "ballast.wire")
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: WireSystemService(system: system)),
                    .init(service: WireDialService(system: system, peers: settings.coordinatorPeers, logger: logger)),
                    .init(
                        service: ReportingService(
                            system: system,
                            observer: observer,
                            interval: settings.reportInterval.duration,
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
