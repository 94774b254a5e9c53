import Crypto
import Wire
import WireFormat

extension FleetAPI {
    /// The wire configuration of every fleet process (coordinator, agent, coordctl, the simulator, the tests):
    /// the fleet's endpoints, its typed errors and the report's JSON coders, with this node's identity and
    /// secrets. Callers change only what is theirs (timeouts, TLS, limits), never the fleet's vocabulary.
    public static func wireConfiguration(
        nodeID: String,
        role: WireRole,
        secrets: WireSecrets
    ) -> WireActorSystem.Configuration {
        var configuration = WireActorSystem.Configuration(nodeID: nodeID, role: role, secrets: secrets)
        configuration.endpoints = endpoints
        configuration.remoteErrorTypes = remoteErrorTypes
        configuration.jsonCoders = jsonCoders
        return configuration
    }
}

extension WireSecrets {
    /// An agent's or coordctl's view: `secret` proves both sides to coordinator replicas; any other peer is
    /// refused as unknown.
    public static func coordinatorsOnly(_ secret: SymmetricKey) -> WireSecrets {
        WireSecrets { _, role in role == .coordinator ? secret : nil }
    }
}
