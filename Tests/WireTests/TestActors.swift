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

    distributed func echo(_ value: Int) -> Int {
        value
    }

    distributed func echoTexts(_ value: [String]) -> [String] {
        value
    }

    distributed func echoText(_ value: String) -> String {
        value
    }
}

/// A function of TestAgent that no endpoint names: Swift callers cannot call it remotely.
extension TestAgent {
    distributed func unnamed() -> Int { 1 }
}

extension WireEndpoint {
    /// The test agent's calls, for coordinators.
    static let testAgent = WireEndpoint(
        stub: TestAgent.self,
        callers: [.coordinator],
        isImplemented: { $0 is TestAgent },
        calls: [
            WireCall("test.agent.drain", swift: "drain(node:epoch:)") { (agent: TestAgent, arguments) in
                try await agent.drain(node: arguments.next(), epoch: arguments.next())
            },
            WireCall("test.agent.pause", swift: "pause(milliseconds:)") { (agent: TestAgent, arguments) in
                try await agent.pause(milliseconds: arguments.next())
            },
            .void("test.agent.explode", swift: "explode()") { (agent: TestAgent, _) in try await agent.explode() },
            WireCall("test.agent.repeat-text", swift: "repeatText(_:times:)") { (agent: TestAgent, arguments) in
                try await agent.repeatText(arguments.next(), times: arguments.next())
            },
            WireCall("test.agent.echo", swift: "echo(_:)") { (agent: TestAgent, arguments) in
                try await agent.echo(arguments.next())
            },
            WireCall("test.agent.echo-texts", swift: "echoTexts(_:)") { (agent: TestAgent, arguments) in
                try await agent.echoTexts(arguments.next())
            },
            WireCall("test.agent.echo-text", swift: "echoText(_:)") { (agent: TestAgent, arguments) in
                try await agent.echoText(arguments.next())
            },
        ]
    )

    /// The test coordinator's calls, for agents.
    static let testCoordinator = WireEndpoint(
        stub: TestCoordinator.self,
        callers: [.agent],
        isImplemented: { $0 is TestCoordinator },
        calls: [
            WireCall("test.coordinator.report", swift: "report(cluster:pendingPods:)") {
                (coordinator: TestCoordinator, arguments) in
                try await coordinator.report(cluster: arguments.next(), pendingPods: arguments.next())
            },
            WireCall("test.coordinator.reports", swift: "reports()") { (coordinator: TestCoordinator, _) in
                try await coordinator.reports()
            },
            WireCall("test.coordinator.runs-on-event-loop", swift: "runsOnEventLoop()") {
                (coordinator: TestCoordinator, _) in
                try await coordinator.runsOnEventLoop()
            },
            .retired("test.coordinator.report-v0", swift: "reportV0(cluster:)", replacement: "test.coordinator.report"),
        ]
    )
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
