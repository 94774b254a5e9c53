// cluster-agent: Ballast's agent for one K3s cluster. Parses its config, connects to every coordinator replica
// over the wire, and reports the cluster every report interval; runs in a ServiceGroup that stops gracefully on
// SIGTERM or SIGINT.
import ArgumentParser
import BallastConfig
import ClusterAgent
import Cost
import Crypto
import FleetAPI
import Foundation
import Logging
import Observability
import ServiceLifecycle
import Simulation
import Wire
import WireFormat

@main
struct ClusterAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-agent",
        abstract: "Run Ballast's agent for one cluster."
    )

    @Option(name: .long, help: "The agent's YAML configuration file.")
    var config: String

    func run() async throws {
        let settings: AgentConfiguration
        do {
            settings = try ConfigLoader.load(AgentConfiguration.self, from: config)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = Observability.bootstrap(logLevel: Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info)
        var logger = Logger(label: "ballast.agent")
        logger[metadataKey: "ballast.cluster"] = "\(settings.clusterID)"

        guard let simulation = settings.simulation else {
            // The real observer (Prometheus, Kubernetes API, EC2) is not built yet; refuse rather than pretend.
            throw ValidationError(
                "\(config): simulation: this build observes only simulated clusters; add a `simulation:` section (see deploy/examples)"
            )
        }
        let trace = try RequestTrace.load(csv: simulation.trace)
        let observer = TraceDrivenCluster(
            shape: .init(
                clusterID: ClusterID(settings.clusterID),
                region: settings.region,
                zones: simulation.zones ?? ["a", "b", "c"].map { settings.region + $0 },
                instanceType: simulation.instanceType ?? "m6i.large",
                nodes: simulation.nodes ?? 6,
                requestsPerPod: simulation.requestsPerPod ?? max(1, trace.median / 40),
                minutesPerSecond: simulation.minutesPerSecond ?? 1,
                startMinute: Double(simulation.startMinute ?? 0)
            ),
            trace: trace,
            bootedAt: Timestamp.now()
        )

        let secret = SymmetricKey(data: try settings.secret.resolve())
        var wire = WireActorSystem.Configuration(
            nodeID: settings.clusterID,
            role: .agent,
            secrets: WireSecrets { _, role in role == .coordinator ? secret : nil }
        )
        wire.endpoints = FleetAPI.endpoints
        wire.remoteErrorTypes = FleetAPI.remoteErrorTypes
        wire.jsonCoders = FleetAPI.jsonCoders
        let system = try WireActorSystem(configuration: wire, logger: Logger(label: "ballast.wire"))

        // Each coordinator is dialled in the background and redialled with backoff whenever it drops; the first
        // failure of each is logged, not fatal: a coordinator may start after its agents.
        for coordinator in settings.coordinators {
            Task {
                do {
                    let peer = try await system.connect(host: coordinator.host, port: coordinator.port)
                    logger.notice(
                        "connected to coordinator",
                        metadata: ["ballast.peer": "\(peer.nodeID)", "address": "\(coordinator)"]
                    )
                } catch {
                    logger.error(
                        "cannot connect to coordinator",
                        metadata: ["address": "\(coordinator)", "error": "\(error)"]
                    )
                }
            }
        }

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: WireSystemService(system: system)),
                    .init(
                        service: ReportingService(
                            system: system,
                            observer: observer,
                            interval: settings.reportInterval.duration,
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
