import Cost
import Distributed
import Wire

/// What a cluster agent offers the coordinator leader. Every command carries a `CommandStamp`; an agent refuses
/// one whose epoch is lower than the highest it has seen with `StaleEpochError`, and executes a repeated command
/// at most once (a launch by its token, a drain by its node, a termination by its instance).
///
/// Resolve a remote agent with `$ClusterAgentEndpoint.resolve(id: WireActorSystem.wellKnownID(node:name:), using:)`.
@Resolvable
public protocol ClusterAgentEndpoint: DistributedActor where ActorSystem == WireActorSystem {
    /// Launches workers as the command says, idempotently by its token.
    distributed func launch(_ command: LaunchCommand) async throws -> LaunchReceipt
    /// Starts draining a worker; returns once the drain is accepted, not when it ends.
    distributed func drain(_ command: DrainCommand) async throws -> DrainReceipt
    /// Terminates instances the leader confirmed as orphans, each checked again by the agent first.
    distributed func terminateOrphans(_ command: TerminateOrphansCommand) async throws -> OrphanTerminationReceipt
    /// Handles an interruption notice the leader routed from an account-wide queue, as one from the agent's own.
    distributed func acceptInterruption(_ notice: RoutedInterruption) async throws -> RoutedInterruptionReceipt
}

/// What a coordinator replica offers the agents. Agents report to every replica, so a new leader has a warm
/// view of the fleet and can plan at once.
@Resolvable
public protocol CoordinatorEndpoint: DistributedActor where ActorSystem == WireActorSystem {
    /// Takes a cluster's report; answers who leads, with the highest epoch known.
    distributed func report(_ report: AgentReport) async throws -> ReportAcknowledgement
}

extension WireEndpoint {
    /// An agent takes commands from coordinators only.
    public static let clusterAgent = WireEndpoint(
        stub: $ClusterAgentEndpoint.self,
        callers: [.coordinator],
        isImplemented: { $0 is any ClusterAgentEndpoint },
        calls: [
            WireCall("fleet.agent.launch", swift: "launch(_:)") { (agent: any ClusterAgentEndpoint, arguments) in
                try await agent.launch(arguments.next())
            },
            WireCall("fleet.agent.drain", swift: "drain(_:)") { (agent: any ClusterAgentEndpoint, arguments) in
                try await agent.drain(arguments.next())
            },
            WireCall("fleet.agent.terminate-orphans", swift: "terminateOrphans(_:)") {
                (agent: any ClusterAgentEndpoint, arguments) in
                try await agent.terminateOrphans(arguments.next())
            },
            WireCall("fleet.agent.interruption", swift: "acceptInterruption(_:)") {
                (agent: any ClusterAgentEndpoint, arguments) in
                try await agent.acceptInterruption(arguments.next())
            },
        ]
    )

    /// A coordinator takes reports from agents (and from other replicas, which may relay).
    public static let coordinator = WireEndpoint(
        stub: $CoordinatorEndpoint.self,
        callers: [.agent, .coordinator],
        isImplemented: { $0 is any CoordinatorEndpoint },
        calls: [
            WireCall("fleet.coordinator.report", swift: "report(_:)") {
                (coordinator: any CoordinatorEndpoint, arguments) in
                try await coordinator.report(arguments.next())
            }
        ]
    )
}

extension FleetAPI {
    /// Every endpoint protocol of the fleet, for `WireActorSystem.Configuration.endpoints`.
    public static let endpoints: [WireEndpoint] = [.clusterAgent, .coordinator, .coordinatorAdmin]
}
