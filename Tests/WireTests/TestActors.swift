import Distributed
import NIOPosix
import Wire

/// What the test agent returns from a drain.
struct DrainResult: Codable, Hashable, Sendable {
    var node: String
    var evicted: Int
}

/// A typed error that crosses the wire as itself.
struct StaleEpoch: WireRemoteError, Hashable {
    static let wireErrorCode = "ballast.stale-epoch"
    var seen: Int
    var got: Int
}

/// An error that is not meant to cross the wire; callers see a generic remote failure.
struct DiskOnFire: Error, CustomStringConvertible {
    var description: String { "the disk is on fire" }
}

/// A small stand-in for the cluster agent: refuses stale epochs, can be slow, can fail.
distributed actor TestAgent {
    typealias ActorSystem = WireActorSystem
    private var highestEpoch = 0

    distributed func drain(node: String, epoch: Int) throws -> DrainResult {
        guard epoch >= highestEpoch else { throw StaleEpoch(seen: highestEpoch, got: epoch) }
        highestEpoch = epoch
        return DrainResult(node: node, evicted: node.count)
    }

    distributed func pause(milliseconds: Int) async throws -> Int {
        try await Task.sleep(for: .milliseconds(milliseconds))
        return milliseconds
    }

    distributed func explode() throws {
        throw DiskOnFire()
    }

    distributed func repeatText(_ text: String, times: Int) -> String {
        String(repeating: text, count: times)
    }

    distributed func echo<Value: Codable & Sendable>(_ value: Value) -> Value {
        value
    }
}

/// A small stand-in for the coordinator: counts reports.
distributed actor TestCoordinator {
    typealias ActorSystem = WireActorSystem
    private var received: [String] = []

    distributed func report(cluster: String, pendingPods: Int) -> Int {
        received.append("\(cluster):\(pendingPods)")
        return received.count
    }

    distributed func reports() -> [String] {
        received
    }

    /// Whether the call runs on an event-loop thread (the connection's), rather than on the cooperative pool.
    distributed func runsOnEventLoop() -> Bool {
        MultiThreadedEventLoopGroup.currentEventLoop != nil
    }
}
