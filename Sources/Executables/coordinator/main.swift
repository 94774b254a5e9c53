// coordinator: one replica of Ballast's coordinator. Parses its config, wires the wire, the coordinator actor,
// planning and metrics, and runs them in a ServiceGroup that stops gracefully on SIGTERM or SIGINT.
import ArgumentParser
import BallastConfig
import Coordinator
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
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run one replica of Ballast's coordinator.",
        discussion: "Agents report to every replica; coordctl talks to any. See docs/operations.md."
    )

    @Option(name: .long, help: "The coordinator's YAML configuration file.")
    var config: String

    func run() async throws {
        let settings: CoordinatorConfiguration
        do {
            settings = try ConfigLoader.load(CoordinatorConfiguration.self, from: config)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = Observability.bootstrap(logLevel: Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info)
        let logger = Logger(label: "ballast.coordinator")

        let clusterSecrets = try Dictionary(
            uniqueKeysWithValues: settings.clusters.map { ($0.id, SymmetricKey(data: try $0.secret.resolve())) }
        )
        let adminSecret = try settings.adminSecret.map { SymmetricKey(data: try $0.resolve()) }
        var wire = WireActorSystem.Configuration(
            nodeID: settings.nodeID,
            role: .coordinator,
            secrets: WireSecrets { node, role in
                switch role {
                case .agent: return clusterSecrets[node]
                case .admin: return adminSecret
                default: return nil
                }
            }
        )
        wire.endpoints = FleetAPI.endpoints
        wire.remoteErrorTypes = FleetAPI.remoteErrorTypes
        wire.jsonCoders = FleetAPI.jsonCoders
        let system = try WireActorSystem(configuration: wire, logger: Logger(label: "ballast.wire"))

        var planner = PlannerSettings()
        planner.clusterLostAfter = settings.clusterLostAfter.duration
        let catalog = try PriceCatalog.bundled()
        let coordinator = system.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: system,
                settings: .init(
                    clusters: Dictionary(
                        uniqueKeysWithValues: settings.clusters.map {
                            (ClusterID($0.id), (region: $0.region, policy: $0.policy))
                        }
                    ),
                    budget: settings.budget.map {
                        FleetBudget(monthlyUSD: $0.monthlyUSD, regionalMonthlyUSD: $0.regions ?? [:])
                    },
                    planner: planner,
                    catalog: catalog
                ),
                wallClock: { Timestamp.now() },
                logger: logger
            )
        }
        let address = try await system.listen(host: settings.listen.host, port: settings.listen.port)
        logger.notice(
            "coordinator serving",
            metadata: [
                "ballast.node": "\(settings.nodeID)", "ballast.address": "\(address)",
                "clusters": "\(settings.clusters.count)",
            ]
        )

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: WireSystemService(system: system)),
                    .init(
                        service: PlanningService(
                            coordinator: coordinator,
                            interval: settings.planInterval.duration,
                            spotPrices: settings.spotPrices == .simulated ? SimulatedSpotMarket(catalog: catalog) : nil,
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
        logger.notice("coordinator stopped")
    }
}
