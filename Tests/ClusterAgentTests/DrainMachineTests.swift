import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Testing

/// Draws the top of every range, so a retry delay is its full ceiling: 1 s, 2 s, 4 s … capped.
struct CeilingRandom: RandomNumberGenerator, Sendable {
    mutating func next() -> UInt64 { .max }
}

@Suite("drain state machine")
struct DrainMachineTests {
    static let node = "worker-1"
    static let settings = DrainMachine.Settings(
        initialRetryDelay: .seconds(1),
        maximumRetryDelay: .seconds(4),
        podPollInterval: .seconds(2)
    )

    static func machine(epoch: UInt64? = 5, deadline: Duration = .seconds(120)) -> DrainMachine {
        DrainMachine(
            nodeName: node,
            instanceID: "i-1",
            epoch: epoch.map { FencingEpoch($0) },
            deadline: deadline,
            settings: settings,
            random: CeilingRandom()
        )
    }

    static func ref(_ name: String) -> KubePod.Reference { KubePod.Reference(namespace: "web", name: name) }

    static func pod(
        _ name: String,
        daemonSet: Bool = false,
        mirror: Bool = false,
        terminating: Bool = false,
        on node: String = node
    ) -> KubePod {
        KubePod(
            reference: ref(name),
            nodeName: node,
            phase: .running,
            requests: .vcpu(0.25, gib: 0.5),
            isDaemonSetPod: daemonSet,
            isMirrorPod: mirror,
            isTerminating: terminating
        )
    }

    /// Feeds each event and checks the actions it gives, line by line.
    static func run(_ machine: inout DrainMachine, _ lines: [(DrainMachine.Event, [DrainMachine.Action])]) {
        for (index, (event, expected)) in lines.enumerated() {
            let actions = machine.handle(event)
            #expect(actions == expected, "line \(index + 1): \(event)")
        }
    }

    @Test("cordon, evict each pod, wait until they are gone, terminate, delete the node")
    func happyPath() {
        var machine = Self.machine()
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a"), Self.pod("b")]), [.evict(Self.ref("a"))]),
                (.evictionAnswered(Self.ref("a"), .evicted), [.evict(Self.ref("b"))]),
                (.evictionAnswered(Self.ref("b"), .evicted), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("b", terminating: true)]), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (.podsListed([]), [.terminate(instanceID: "i-1")]),
                (.terminated, [.deleteNode(Self.node)]),
                (.nodeDeleted, [.finish(.completed(evictions: 2))]),
                (.timerFired(.deadline), []),
            ]
        )
        #expect(machine.outcome?.terminated == true)
    }

    @Test("DaemonSet and mirror pods are never evicted and do not hold the node")
    func daemonSetsSkipped() {
        var machine = Self.machine()
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (
                    .podsListed([Self.pod("ds", daemonSet: true), Self.pod("static", mirror: true), Self.pod("a")]),
                    [.evict(Self.ref("a"))]
                ),
                (.evictionAnswered(Self.ref("a"), .evicted), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (
                    .podsListed([Self.pod("ds", daemonSet: true), Self.pod("static", mirror: true)]),
                    [.terminate(instanceID: "i-1")]
                ),
            ]
        )
    }

    @Test("an eviction a budget blocks is retried with exponential, capped backoff while others proceed")
    func budgetBackoff() {
        var machine = Self.machine()
        let blocked = EvictionOutcome.blockedByDisruptionBudget(message: "Cannot evict pod")
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a"), Self.pod("b")]), [.evict(Self.ref("a"))]),
                (
                    .evictionAnswered(Self.ref("a"), blocked),
                    [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(1)), .evict(Self.ref("b"))]
                ),
                (.evictionAnswered(Self.ref("b"), .evicted), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.retryEviction(Self.ref("a"))), [.evict(Self.ref("a"))]),
                (
                    .evictionAnswered(Self.ref("a"), blocked),
                    [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(2))]
                ),
                (.timerFired(.retryEviction(Self.ref("a"))), [.evict(Self.ref("a"))]),
                (
                    .evictionAnswered(Self.ref("a"), blocked),
                    [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(4))]
                ),
                (.timerFired(.retryEviction(Self.ref("a"))), [.evict(Self.ref("a"))]),
                (
                    .evictionAnswered(Self.ref("a"), blocked),
                    [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(4))]
                ),
                (.timerFired(.retryEviction(Self.ref("a"))), [.evict(Self.ref("a"))]),
                (.evictionAnswered(Self.ref("a"), .evicted), []),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (.podsListed([]), [.terminate(instanceID: "i-1")]),
            ]
        )
    }

    @Test("jitter keeps every retry delay between half its ceiling and the ceiling")
    func jitterBounds() {
        var machine = DrainMachine(
            nodeName: Self.node,
            instanceID: "i-1",
            epoch: nil,
            deadline: .seconds(600),
            settings: Self.settings,
            random: SeededRandom(seed: 42)
        )
        _ = machine.handle(.start)
        _ = machine.handle(.cordoned)
        _ = machine.handle(.podsListed([Self.pod("a")]))
        var ceilings: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)]
        var delays: [Duration] = []
        while !ceilings.isEmpty {
            let ceiling = ceilings.removeFirst()
            let actions = machine.handle(.evictionAnswered(Self.ref("a"), .blockedByDisruptionBudget(message: "")))
            guard case .startTimer(.retryEviction, let delay) = actions.first else {
                Issue.record("expected a retry timer, got \(actions)")
                return
            }
            #expect(delay >= ceiling / 2 && delay <= ceiling)
            delays.append(delay)
            #expect(machine.handle(.timerFired(.retryEviction(Self.ref("a")))) == [.evict(Self.ref("a"))])
        }
        #expect(Set(delays).count > 1)
    }

    @Test("the deadline ends the drain with the node cordoned, its instance kept, and the pods named")
    func deadline() {
        var machine = Self.machine(deadline: .seconds(30))
        let blocked = EvictionOutcome.blockedByDisruptionBudget(message: "Cannot evict pod")
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(30)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a")]), [.evict(Self.ref("a"))]),
                (
                    .evictionAnswered(Self.ref("a"), blocked),
                    [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(1))]
                ),
                (
                    .timerFired(.deadline),
                    [
                        .finish(
                            .abandoned(
                                reason:
                                    "deadline passed with 1 pod(s) still on the node (web/a); the node stays cordoned"
                            )
                        )
                    ]
                ),
                (.timerFired(.retryEviction(Self.ref("a"))), []),
                (.podsListed([]), []),
            ]
        )
        #expect(machine.outcome?.terminated == false)
    }

    @Test("a deadline while the empty node's termination is in flight lets that termination finish")
    func deadlineDuringTermination() {
        var machine = Self.machine()
        _ = machine.handle(.start)
        _ = machine.handle(.cordoned)
        #expect(machine.handle(.podsListed([])) == [.terminate(instanceID: "i-1")])
        #expect(machine.handle(.timerFired(.deadline)) == [])
        #expect(machine.handle(.terminated) == [.deleteNode(Self.node)])
        #expect(machine.handle(.nodeDeleted) == [.finish(.completed(evictions: 0))])
    }

    @Test("an HTTP 500 from the Eviction API stops the drain at once")
    func serverError() {
        var machine = Self.machine()
        let error = KubeAPIError(.failed, status: 500, "This pod has more than one PodDisruptionBudget")
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a"), Self.pod("b")]), [.evict(Self.ref("a"))]),
                (
                    .evictionFailed(Self.ref("a"), error),
                    [
                        .finish(
                            .failed(
                                reason:
                                    "eviction of web/a failed with HTTP 500 (more than one budget matches it?): This pod has more than one PodDisruptionBudget"
                            )
                        )
                    ]
                ),
                (.timerFired(.pollPods), []),
            ]
        )
    }

    @Test("a transient eviction error is retried with backoff")
    func transientError() {
        var machine = Self.machine()
        _ = machine.handle(.start)
        _ = machine.handle(.cordoned)
        _ = machine.handle(.podsListed([Self.pod("a")]))
        #expect(
            machine.handle(.evictionFailed(Self.ref("a"), KubeAPIError(.unreachable, "connection refused")))
                == [.startTimer(.retryEviction(Self.ref("a")), after: .seconds(1))]
        )
    }

    @Test("a higher epoch seen mid-drain stops it before the next eviction")
    func superseded() {
        var machine = Self.machine(epoch: 5)
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a"), Self.pod("b")]), [.evict(Self.ref("a"))]),
                (.superseded(by: FencingEpoch(5)), []),
                (
                    .superseded(by: FencingEpoch(6)),
                    [.finish(.stopped(reason: "epoch 6 superseded the drain's epoch 5; the node stays cordoned"))]
                ),
                (.evictionAnswered(Self.ref("a"), .evicted), []),
            ]
        )
        #expect(machine.outcome?.terminated == false)
    }

    @Test("the agent's own drain (no epoch) is never superseded")
    func ownDrain() {
        var machine = Self.machine(epoch: nil)
        _ = machine.handle(.start)
        #expect(machine.handle(.superseded(by: FencingEpoch(9))) == [])
        #expect(machine.handle(.cordoned) == [.listPods(node: Self.node)])
    }

    @Test("a pod that appears on the node after the cordon is evicted too")
    func latePod() {
        var machine = Self.machine()
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a")]), [.evict(Self.ref("a"))]),
                (.evictionAnswered(Self.ref("a"), .evicted), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (.podsListed([Self.pod("a", terminating: true), Self.pod("late")]), [.evict(Self.ref("late"))]),
                (.evictionAnswered(Self.ref("late"), .gone), [.startTimer(.pollPods, after: .seconds(2))]),
            ]
        )
    }

    @Test("a failed cordon is retried; a failed listing is polled again")
    func retriesBeforeEvicting() {
        var machine = Self.machine()
        Self.run(
            &machine,
            [
                (.start, [.startTimer(.deadline, after: .seconds(120)), .cordon(node: Self.node)]),
                (.cordonFailed(KubeAPIError(.unreachable, "timeout")), [.startTimer(.retryCordon, after: .seconds(1))]),
                (.timerFired(.retryCordon), [.cordon(node: Self.node)]),
                (.cordoned, [.listPods(node: Self.node)]),
                (.listFailed(KubeAPIError(.unreachable, "timeout")), [.startTimer(.pollPods, after: .seconds(2))]),
                (.timerFired(.pollPods), [.listPods(node: Self.node)]),
                (.podsListed([]), [.terminate(instanceID: "i-1")]),
                (
                    .terminateFailed(CloudError(.unavailable, "throttled")),
                    [.startTimer(.retryTerminate, after: .seconds(1))]
                ),
                (.timerFired(.retryTerminate), [.terminate(instanceID: "i-1")]),
                (.terminated, [.deleteNode(Self.node)]),
            ]
        )
    }
}
