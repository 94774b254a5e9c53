import Synchronization
import WireFormat

/// Connects several `WireActorSystem`s in one process with no sockets, for the simulator and fast tests.
/// Every system joined to the hub is connected to every other; leaving (on shutdown) disconnects it.
public final class WireHub: Sendable {
    private let systems = Mutex<[String: WireActorSystem]>([:])

    public init() {}

    func join(_ system: WireActorSystem) throws(WireConnectError) {
        let others = try systems.withLock { systems throws(WireConnectError) -> [WireActorSystem] in
            guard systems[system.nodeID] == nil else {
                throw WireConnectError(.invalidConfiguration, "node id \(system.nodeID) already joined this hub")
            }
            let others = Array(systems.values)
            systems[system.nodeID] = system
            return others
        }
        for other in others {
            other.addLink(.inProcess(system), peer: system.nodeID, role: system.role)
            system.addLink(.inProcess(other), peer: other.nodeID, role: other.role)
        }
    }

    func leave(_ system: WireActorSystem) {
        let others = systems.withLock { systems -> [WireActorSystem] in
            guard systems[system.nodeID] === system else { return [] }
            systems[system.nodeID] = nil
            return Array(systems.values)
        }
        for other in others {
            other.removeLink(
                where: { if case .inProcess(let peer) = $0 { peer === system } else { false } },
                peer: system.nodeID
            )
            system.removeLink(
                where: { if case .inProcess(let peer) = $0 { peer === other } else { false } },
                peer: other.nodeID
            )
        }
    }
}
