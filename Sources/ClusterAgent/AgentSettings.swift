import BallastConfig
import Crypto
import Wire

// From a validated agent configuration file to what the agent's parts are built with; the executable calls these
// and nothing else.

extension AgentConfiguration {
    /// The agent proves itself to, and checks, coordinator replicas with its cluster's secret; it accepts no other
    /// peer. Reads the secret now, so a missing file or variable is reported at start naming the key (never the
    /// secret).
    public func wireSecrets() throws(ConfigValidationError) -> WireSecrets {
        do {
            return .coordinatorsOnly(SymmetricKey(data: try secret.resolve()))
        } catch {
            throw ConfigValidationError(key: "secret", expected: "a readable, non-empty secret (\(error))")
        }
    }

    /// The coordinator replicas to stay connected to.
    public var coordinatorPeers: [WireDialService.Peer] {
        coordinators.map { WireDialService.Peer(host: $0.host, port: $0.port) }
    }
}
