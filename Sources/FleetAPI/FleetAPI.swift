// FleetAPI: what cluster agents, coordinators and coordctl say to each other, and nothing else.
//
// The distributed actor protocols (`ClusterAgentEndpoint`, `CoordinatorEndpoint`), the commands the leader
// sends and the typed errors that cross the wire. Both the agent and the coordinator depend on this module and
// never on each other, which keeps the dependency graph acyclic. Depends on Wire (the actor system) and Cost
// (the report and policy types); it holds no logic beyond validating and deriving its own values.
import Wire

/// Registration of this module's typed wire errors with an actor system, so that they arrive at a caller as
/// themselves rather than as a generic remote failure.
public enum FleetAPI {
    /// Every `WireRemoteError` a Ballast distributed function may throw.
    public static let remoteErrorTypes: [any WireRemoteError.Type] = [
        StaleEpochError.self,
        CommandRejectedError.self,
        NotLeaderError.self,
        LaunchFailedError.self,
    ]
}
