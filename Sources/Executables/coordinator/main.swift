// coordinator: one replica of Ballast's coordinator. Parses its config, wires the wire, the coordinator actor,
// planning and metrics, and runs them in a ServiceGroup that stops gracefully on SIGTERM or SIGINT.
import ArgumentParser
import AsyncHTTPClient
import BallastConfig
import Clocks
import Consensus
import Coordinator
import Cost
import FleetAPI
import Foundation
import Logging
import Observability
import ServiceLifecycle
import Simulation
import Wire

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
        let (settings, secrets): (CoordinatorConfiguration, WireSecrets)
        do {
            (settings, secrets) = try ConfigLoader.load(CoordinatorConfiguration.self, from: config) {
                config throws(ConfigValidationError) in try config.wireSecrets()
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = Observability.bootstrap(logLevel: Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info)
        let logger = Logger(label: "ballast.coordinator")
        let clock = SystemClock()
        let catalog = try PriceCatalog.bundled()

        let system = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: settings.nodeID, role: .coordinator, secrets: secrets),
            logger: Logger(label: "ballast.wire")
        )
        let address = try await system.listen(host: settings.listen.host, port: settings.listen.port)
        let httpClient = HTTPClient.shared  // The process-wide client: lives as long as the process, no shutdown.
        let election: LeaderElection<SystemClock>
        do {
            election = try LeaderElection(
                store: try settings.makeLeaseStore(httpClient: httpClient, logger: Logger(label: "ballast.lease")),
                configuration: .init(
                    fleet: settings.lease.fleet,
                    holder: .unique(
                        name: settings.nodeID,
                        address: settings.advertisedAddress(
                            boundPort: address.port ?? settings.listen.port,
                            hostName: ProcessInfo.processInfo.hostName
                        )
                    ),
                    timing: settings.lease.timing
                ),
                clock: clock,
                logger: Logger(label: "ballast.lease")
            )
        } catch {
            throw ValidationError("\(config): lease: \(error)")
        }
        let notifier: SlackNotifier?
        do {
            notifier = try settings.slackNotifier(
                httpClient: httpClient,
                clock: clock,
                logger: Logger(label: "ballast.notify")
            )
        } catch {
            throw ValidationError("\(config): \(error.key): expected \(error.expected)")
        }
        let rounds = PlanningService.makeRoundRequests()
        let coordinator = system.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: system,
                settings: settings.actorSettings(catalog: catalog),
                clock: clock,
                leadership: election,
                stateStore: LeaseBackedStateStore(
                    store: election.store,
                    fleet: settings.lease.fleet,
                    holder: election.configuration.holder.id
                ),
                notifier: notifier ?? NoNotifier(),
                requestRound: rounds.request,
                logger: logger
            )
        }
        let router = settings.interruptionRouter(
            coordinator: coordinator,
            leadership: election,
            httpClient: httpClient,
            clock: clock,
            logger: Logger(label: "ballast.interruptions")
        )
        logger.notice(
            "coordinator serving",
            metadata: [
                "ballast.node": "\(settings.nodeID)", "ballast.address": "\(address)",
                "clusters": "\(settings.clusters.count)",
                "interruption-queues":
                    "\(settings.interruptions?.queues.keys.sorted().joined(separator: ",") ?? "none")",
            ]
        )

        // Shutdown runs in reverse order: stop routing, planning and commanding, then release the lease, then close
        // the connections.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: WireSystemService(system: system))
        ]
        if let notifier { services.append(.init(service: notifier)) }
        services.append(.init(service: election))
        services.append(
            .init(
                service: PlanningService(
                    coordinator: coordinator,
                    interval: settings.planInterval.duration,
                    spotPrices: settings.spotPrices == .simulated
                        ? SimulatedSpotMarket(catalog: catalog)
                        : settings.ec2SpotPrices(httpClient: httpClient, logger: Logger(label: "ballast.spot")),
                    leadershipEvents: election.events,
                    roundRequests: rounds.requests,
                    clock: clock,
                    logger: logger
                )
            )
        )
        if let router { services.append(.init(service: router)) }
        services.append(
            .init(
                service: MetricsEndpoint(
                    configuration: .init(host: settings.metrics.host, port: settings.metrics.port),
                    registry: registry,
                    logger: logger,
                    readiness: { await coordinator.whenLocal { $0.readiness() } ?? (false, "not local") }
                )
            )
        )
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        logger.notice("coordinator stopped")
    }
}
