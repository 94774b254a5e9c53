import NIOCore
import NIOPosix
import Synchronization
import Testing
import WireFormat

@testable import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Many idle or dribbling sockets")
struct ManySocketsTests {
    /// Makes room for `needed` descriptors (both ends of every socket live in this process).
    #if canImport(Glibc)
    static let descriptorResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    static let descriptorResource = RLIMIT_NOFILE
    #endif

    static func raiseDescriptorLimit(to needed: rlim_t) throws {
        var limit = rlimit()
        guard getrlimit(descriptorResource, &limit) == 0 else {
            throw WireFixture.TimedOut(description: "getrlimit failed")
        }
        guard limit.rlim_cur < needed else { return }
        limit.rlim_cur = min(needed, limit.rlim_max)
        guard setrlimit(descriptorResource, &limit) == 0, limit.rlim_cur >= needed else {
            throw WireFixture.TimedOut(
                description: "cannot raise RLIMIT_NOFILE to \(needed) (hard limit \(limit.rlim_max))"
            )
        }
    }

    @Test("with 1,000 silent or byte-dribbling sockets open, a real peer connects and calls within 1 s")
    func thousandSockets() async throws {
        try Self.raiseDescriptorLimit(to: 4096)
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.connection.handshakeTimeout = .seconds(5)
        let coordinatorSystem = try WireActorSystem(configuration: coordinatorConfiguration)
        let coordinator = coordinatorSystem.withWellKnownName("coordinator") {
            TestCoordinator(actorSystem: coordinatorSystem)
        }
        let port = try #require(try await coordinatorSystem.listen(host: "127.0.0.1", port: 0).port)

        // 500 sockets that say nothing and 500 that send a hello one byte every 100 ms, never finishing in time.
        var strangers: [any Channel] = []
        for batch in 0..<10 {
            try await withThrowingTaskGroup(of: (any Channel).self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connect(host: "127.0.0.1", port: port).get()
                    }
                }
                for try await channel in group { strangers.append(channel) }
            }
            _ = batch
        }
        // The kernel completes a connect before the server accepts it: wait until all strangers are accepted,
        // so the measurement is of a server holding them, not of its accept queue.
        try await WireFixture.waitUntil(timeout: .seconds(10), "the server accepting 1,000 sockets") {
            coordinatorSystem.state.withLock { $0.connections.count } >= 1000
        }

        let hello = WireMessage.hello(.init(role: .agent, nonce: Array(repeating: 1, count: 32), nodeID: "slow"))
            .encodeFrame()
        var dribblers: [RepeatedTask] = []
        for channel in strangers.prefix(500) {
            let offset = ManagedCounter()
            dribblers.append(
                channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(100)) { _ in
                    let index = offset.next()
                    if index < hello.count { channel.writeAndFlush(ByteBuffer(bytes: [hello[index]]), promise: nil) }
                }
            )
        }
        #expect(strangers.count == 1000)
        try await Task.sleep(for: .milliseconds(300))  // let the dribbling get under way

        let agentSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "agent-eu-1", role: .agent)
        )
        let start = ContinuousClock.now
        try await agentSystem.connect(host: "127.0.0.1", port: port)
        let remote = try TestCoordinator.resolve(id: .init(node: "coord-1", name: "coordinator"), using: agentSystem)
        #expect(try await remote.report(cluster: "eu", pendingPods: 1) == 1)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(1), "connect and first call took \(elapsed)")
        print("many-sockets: connect + first call with 1,000 strangers open took \(elapsed)")
        #expect(try await coordinator.reports() == ["eu:1"])

        for task in dribblers { task.cancel() }
        for channel in strangers { channel.close(promise: nil) }
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}

/// A counter read from one event loop's repeated task.
final class ManagedCounter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}
