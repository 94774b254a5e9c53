import BallastConfig
import Crypto
import Foundation
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

extension AgentConfiguration {
    /// The epoch file in `state-directory`, the directory created if missing; a directory that cannot be made is
    /// reported under the key.
    public func epochStore() throws(ConfigValidationError) -> FileEpochStore {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: stateDirectory, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            } catch {
                throw ConfigValidationError(
                    key: "state-directory",
                    expected: "a directory the agent can create (\(error))"
                )
            }
        } else if !isDirectory.boolValue {
            throw ConfigValidationError(key: "state-directory", expected: "a directory, not a file")
        }
        return FileEpochStore(directory: stateDirectory)
    }

    /// The autonomy service's settings.
    public var autonomySettings: AutonomyService.Settings {
        AutonomyService.Settings(autonomousAfter: autonomousAfter.duration, maxNodes: autonomousMaxNodes)
    }
}
