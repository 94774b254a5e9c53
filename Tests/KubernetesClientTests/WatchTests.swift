import FakeKubernetes
import Foundation
import KubernetesClient
import Synchronization
import Testing

@Suite("Watching nodes and pods")
struct WatchTests {
    @Test("a watch from a list's resourceVersion sees additions, changes, deletions and bookmarks in order")
    func watchEvents() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            let list = try await cluster.client.list(Node.self)
            let events = try cluster.client.watch(Node.self, resourceVersion: list.resourceVersion)
            var iterator = events.makeAsyncIterator()
            // The changes land once the watch is open, so the bookmark reaches it too.
            let api = cluster.api
            let changes = Task {
                while api.openWatches == 0 { try await Task.sleep(for: .milliseconds(5)) }
                api.put(.nodes, FakeObjects.node("agent-2"))
                api.update(.nodes, name: "agent-1", mergePatch: ["spec": ["unschedulable": true]])
                api.remove(.nodes, name: "agent-2")
                api.sendBookmarks()
            }
            defer { changes.cancel() }
            guard case .added(let added)? = try await iterator.next() else {
                Issue.record("expected ADDED first")
                return
            }
            #expect(added.name == "agent-2")
            guard case .modified(let modified)? = try await iterator.next() else {
                Issue.record("expected MODIFIED")
                return
            }
            #expect(modified.name == "agent-1" && modified.isUnschedulable)
            guard case .deleted(let deleted)? = try await iterator.next() else {
                Issue.record("expected DELETED")
                return
            }
            #expect(deleted.name == "agent-2")
            guard case .bookmark(let version)? = try await iterator.next() else {
                Issue.record("expected BOOKMARK")
                return
            }
            #expect(version == String(cluster.api.resourceVersion))
            let query = try #require(cluster.api.requests.last { $0.query.contains("watch=true") }?.query)
            #expect(query.contains("allowWatchBookmarks=true"))
            #expect(query.contains("resourceVersion=\(list.resourceVersion)"))
        }
    }

    @Test("a watch with a field selector sees a pod leave the selection as DELETED")
    func selectionChanges() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.pods, FakeObjects.pod("web-0", phase: "Pending", unschedulable: true))
            let list = try await cluster.client.list(Pod.self, fieldSelector: "status.phase=Pending")
            #expect(list.items.map(\.name) == ["web-0"])
            var iterator = try cluster.client.watch(
                Pod.self,
                fieldSelector: "status.phase=Pending",
                resourceVersion: list.resourceVersion
            ).makeAsyncIterator()
            cluster.api.update(
                .pods,
                namespace: "default",
                name: "web-0",
                mergePatch: ["spec": ["nodeName": "agent-1"], "status": ["phase": "Running"]]
            )
            guard case .deleted(let pod)? = try await iterator.next() else {
                Issue.record("a pod that stops matching must be DELETED from the watch's view")
                return
            }
            #expect(pod.name == "web-0" && pod.phase == "Running")
        }
    }

    @Test("a watch from a compacted resourceVersion fails as expired")
    func expired() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            let list = try await cluster.client.list(Node.self)
            cluster.api.put(.nodes, FakeObjects.node("agent-2"))
            cluster.api.compactHistory()
            var iterator = try cluster.client.watch(Node.self, resourceVersion: list.resourceVersion)
                .makeAsyncIterator()
            do {
                _ = try await iterator.next()
                Issue.record("the watch should have failed with 410")
            } catch let error as KubernetesError {
                #expect(error.code == .expired)
                #expect(error.httpStatus == 410)
            }
        }
    }

    @Test("list-and-watch resumes after a dropped stream and lists again after a 410, keeping the cache right")
    func listAndWatch() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            var cache = ObjectCache<Node>()
            var iterator = cluster.client.listAndWatch(Node.self).makeAsyncIterator()

            let first = try #require(try await iterator.next())
            guard case .listed(let items, _) = first else {
                Issue.record("the first event must be the list")
                return
            }
            #expect(items.map(\.name) == ["agent-1"])
            cache.apply(first)

            // The stream drops without compaction: the watch resumes and sees the next change, no list.
            cluster.api.disconnectWatches(compact: false)
            cluster.api.put(.nodes, FakeObjects.node("agent-2"))
            let resumed = try #require(try await iterator.next())
            guard case .added(let added) = resumed else {
                Issue.record("expected ADDED after resuming, got \(resumed)")
                return
            }
            #expect(added.name == "agent-2")
            cache.apply(resumed)

            // The server restarts with its history compacted past what the watch had seen: 410, then a new list.
            cluster.api.disconnectWatches(thenPut: [(.nodes, FakeObjects.node("agent-3"))], compact: true)
            cluster.api.remove(.nodes, name: "agent-1")
            let relisted = try #require(try await iterator.next())
            guard case .listed(let names, let version) = relisted else {
                Issue.record("expected a new list after 410, got \(relisted)")
                return
            }
            cache.apply(relisted)
            #expect(Set(names.map(\.name)) == ["agent-2", "agent-3"])
            #expect(Set(cache.objects.keys) == ["agent-2", "agent-3"])
            #expect(version == String(cluster.api.resourceVersion))
            let lists = cluster.api.requests.filter { $0.path == "/api/v1/nodes" && !$0.query.contains("watch=") }
            #expect(lists.count == 2)
        }
    }

    @Test("list-and-watch reconnects with backoff while the server is unreachable")
    func reconnectsWithBackoff() async throws {
        let sleeps = SleepLog()
        var configuration = FakeCluster.fastClientConfiguration()
        configuration.sleep = { duration in
            sleeps.append(duration)
            try await Task.sleep(for: .milliseconds(5))
        }
        configuration.jitter = { 0.999 }
        try await FakeCluster.with(clientConfiguration: configuration) { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            try await cluster.server.stop()
            let api = cluster.api
            let port = cluster.server.port
            let tls = cluster.server.configuration
            // The server comes back on the same port once the client has failed a few times.
            let restart = Task {
                while sleeps.count < 3 { try await Task.sleep(for: .milliseconds(5)) }
                return try await FakeKubernetesServer.start(api: api, configuration: tls, port: port)
            }
            var iterator = cluster.client.listAndWatch(Node.self).makeAsyncIterator()
            let first = try #require(try await iterator.next())
            guard case .listed(let items, _) = first else {
                Issue.record("expected the list once the server is back")
                return
            }
            #expect(items.map(\.name) == ["agent-1"])
            let delays = sleeps.values
            #expect(delays.count >= 3)
            // Doubling from 20 ms toward the 200 ms cap, each near its full value with this jitter.
            #expect(delays.prefix(3).map { $0 > .milliseconds(19) } == [true, true, true])
            #expect(delays[1] > delays[0] && delays[2] > delays[1])
            #expect(delays.allSatisfy { $0 <= .milliseconds(200) })
            try await restart.value.stop()
        }
    }

    @Test("list-and-watch ends soon after its task is cancelled, closing its watch")
    func cancellation() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            let client = cluster.client
            let watching = Task {
                var seen = 0
                for try await _ in client.listAndWatch(Node.self) { seen += 1 }
                return seen
            }
            while cluster.api.openWatches == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let cancelled = ContinuousClock.now
            watching.cancel()
            #expect(try await watching.value == 1)
            #expect(ContinuousClock.now - cancelled < .seconds(5))
            // The connection itself goes with the TLS shutdown, which takes a few seconds (5 s measured here).
            for _ in 0..<1500 where cluster.api.openWatches > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(cluster.api.openWatches == 0)
        }
    }

    @Test("a watch that keeps ending without events is reopened only after a backoff")
    func emptyWatchesBackOff() async throws {
        let sleeps = SleepLog()
        var configuration = FakeCluster.fastClientConfiguration()
        configuration.sleep = { duration in
            sleeps.append(duration)
            try await Task.sleep(for: .milliseconds(1))
        }
        configuration.watchTimeout = .seconds(1)
        try await FakeCluster.with(clientConfiguration: configuration) { cluster in
            let client = cluster.client
            let watching = Task {
                for try await _ in client.listAndWatch(Node.self) {}
            }
            defer { watching.cancel() }
            // Each watch asks for timeoutSeconds=1 and the cluster is quiet: every reopen waits first.
            while sleeps.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
            let watches = cluster.api.requests.filter { $0.query.contains("watch=true") }.count
            #expect(watches >= 2 && watches <= sleeps.count + 1)
        }
    }

    @Test("backoff doubles from its base to its cap and starts over after a success")
    func backoff() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        let delays = (0..<6).map { _ in backoff.nextDelay(jitter: 0) }
        #expect(
            delays == [
                .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500),
                .milliseconds(500),
            ]
        )
        backoff.reset()
        #expect(backoff.nextDelay(jitter: 0.5) == .milliseconds(75))
    }
}

/// The waits a client asked for, recorded from its injected sleep.
final class SleepLog: Sendable {
    private let log = Mutex<[Duration]>([])
    func append(_ duration: Duration) { log.withLock { $0.append(duration) } }
    var values: [Duration] { log.withLock { $0 } }
    var count: Int { log.withLock { $0.count } }
}
