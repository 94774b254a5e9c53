import Clocks
import Cost
import FleetAPI
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the cluster's drains: one `DrainMachine` per node, its actions performed against `KubeAPI` and
/// `CloudProvider`, its timers on the `FleetClock`. It owns which drains are accepted, queued and running.
///
/// Promises: a node has at most one drain at a time (a repeated request answers "already draining"); at most
/// `maxConcurrent` drains ordered by a leader run at once, the rest wait in order (drains for a spot interruption
/// go first and are not held back by the cap: the instance goes in two minutes whatever the agent does); before
/// every step of a leader's drain the machine is told if the agent has seen a newer epoch; a drain that ends with
/// its node kept is recorded in the ledger and triggers a report.
public actor DrainService: Service {
    /// One drain to run.
    public struct Request: Sendable, Hashable {
        public var nodeName: String
        public var instanceID: String
        /// The leader's epoch; nil for the agent's own drains (interruptions, resumed drains).
        public var epoch: FencingEpoch?
        public var deadline: Duration
        public var reason: String
        /// A spot interruption: runs at once, outside the cap.
        public var urgent: Bool

        public init(
            nodeName: String,
            instanceID: String,
            epoch: FencingEpoch?,
            deadline: Duration,
            reason: String,
            urgent: Bool = false
        ) {
            self.nodeName = nodeName
            self.instanceID = instanceID
            self.epoch = epoch
            self.deadline = deadline
            self.reason = reason
            self.urgent = urgent
        }
    }

    private let kube: any KubeAPI
    private let cloud: any CloudProvider
    private let clock: any FleetClock
    private let fence: EpochFence
    private let ledger: AgentLedger
    private let trigger: ReportTrigger?
    private let maxConcurrent: Int
    private let machineSettings: DrainMachine.Settings
    private let logger: Logger
    private var random: any RandomNumberGenerator & Sendable
    private var accepted: [String: Request] = [:]
    private var queue: [Request] = []
    private var running: Set<String> = []
    private var startedAt: [String: FleetInstant] = [:]
    private var outcomes: [String: DrainOutcome] = [:]
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter random: draws retry jitter (`SeededRandom` in the simulator and tests).
    public init(
        kube: any KubeAPI,
        cloud: any CloudProvider,
        clock: any FleetClock,
        fence: EpochFence,
        ledger: AgentLedger,
        trigger: ReportTrigger?,
        maxConcurrent: Int = 3,
        machineSettings: DrainMachine.Settings = DrainMachine.Settings(),
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        logger: Logger
    ) {
        self.kube = kube
        self.cloud = cloud
        self.clock = clock
        self.fence = fence
        self.ledger = ledger
        self.trigger = trigger
        self.maxConcurrent = max(1, maxConcurrent)
        self.machineSettings = machineSettings
        self.random = random
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeups = stream
        wake = continuation
    }

    /// Accepts a drain. Returns true when the node already has one (the request changes nothing).
    public func submit(_ request: Request) -> Bool {
        if accepted[request.nodeName] != nil { return true }
        accepted[request.nodeName] = request
        outcomes[request.nodeName] = nil
        if request.urgent {
            queue.insert(request, at: 0)
        } else {
            queue.append(request)
        }
        logger.info(
            "drain accepted",
            metadata: [
                "node": "\(request.nodeName)", "ballast.epoch": "\(request.epoch.map(\.description) ?? "own")",
                "deadline": "\(request.deadline)", "reason": "\(request.reason)",
            ]
        )
        wake.yield()
        return false
    }

    /// Nodes with a drain accepted and not ended (queued or running).
    public var draining: Set<String> { Set(accepted.keys) }

    /// How the last drain of each node ended.
    public func outcome(of node: String) -> DrainOutcome? { outcomes[node] }

    /// Drains running now.
    public var runningCount: Int { running.count }

    /// How long the oldest running drain has run; nil when none runs.
    public var oldestRunningAge: Duration? {
        startedAt.values.min().map { clock.now - $0 }
    }

    public func run() async throws {
        let wake = self.wake
        await withDiscardingTaskGroup { group in
            // Graceful shutdown ends the stream of wake-ups (and so the loop) without a task per wake-up, as a
            // per-element shutdown watch would start.
            await withGracefulShutdownHandler {
                for await _ in wakeups {
                    for request in startable() {
                        group.addTask { await self.execute(request) }
                    }
                }
            } onGracefulShutdown: {
                wake.finish()
            }
            group.cancelAll()
        }
    }

    /// Takes the queued drains that may start now.
    private func startable() -> [Request] {
        var started: [Request] = []
        while let index = queue.firstIndex(where: { $0.urgent || running.count < maxConcurrent }) {
            let request = queue.remove(at: index)
            running.insert(request.nodeName)
            startedAt[request.nodeName] = clock.now
            started.append(request)
        }
        return started
    }

    private func finished(_ request: Request, _ outcome: DrainOutcome) {
        running.remove(request.nodeName)
        startedAt[request.nodeName] = nil
        accepted[request.nodeName] = nil
        outcomes[request.nodeName] = outcome
        var metadata: Logger.Metadata = ["node": "\(request.nodeName)", "outcome": "\(outcome)"]
        metadata["reason"] = "\(request.reason)"
        if outcome.terminated {
            ledger.clearDrainProblem(node: request.nodeName)
            logger.info("drain completed", metadata: metadata)
        } else {
            ledger.recordDrainProblem(node: request.nodeName, reason: "\(outcome)")
            logger.warning("drain ended with the node kept", metadata: metadata)
        }
        trigger?.fire()
        wake.yield()
    }

    private func nextSeed() -> UInt64 { random.next() }

    /// The interpreter: performs the machine's actions, feeds it their results and its timers, until it finishes.
    private func execute(_ request: Request) async {
        let machine = DrainMachine(
            nodeName: request.nodeName,
            instanceID: request.instanceID,
            epoch: request.epoch,
            deadline: request.deadline,
            settings: machineSettings,
            random: SeededRandom(seed: nextSeed())
        )
        let outcome = await Self.interpret(
            machine,
            kube: kube,
            cloud: cloud,
            clock: clock,
            fence: fence,
            logger: logger
        )
        finished(request, outcome)
    }

    static func interpret(
        _ initial: DrainMachine,
        kube: any KubeAPI,
        cloud: any CloudProvider,
        clock: any FleetClock,
        fence: EpochFence,
        logger: Logger
    ) async -> DrainOutcome {
        var machine = initial
        let (timerEvents, timerContinuation) = AsyncStream.makeStream(of: DrainMachine.Event.self)
        // Discarding: a long drain starts hundreds of timers, and none of their results is wanted.
        return await withDiscardingTaskGroup(returning: DrainOutcome.self) { timers in
            defer { timers.cancelAll() }
            var iterator = timerEvents.makeAsyncIterator()
            /// Tells the machine of a newer epoch first, then the event.
            func deliver(_ event: DrainMachine.Event) -> [DrainMachine.Action] {
                var actions: [DrainMachine.Action] = []
                if let epoch = machine.epoch, fence.highestSeen > epoch {
                    actions += machine.handle(.superseded(by: fence.highestSeen))
                }
                return actions + machine.handle(event)
            }
            var pending = deliver(.start)
            while true {
                while !pending.isEmpty {
                    let action = pending.removeFirst()
                    switch action {
                    case .finish(let outcome):
                        return outcome
                    case .startTimer(let timer, let delay):
                        let deadline = clock.now.advanced(by: delay)
                        timers.addTask {
                            do {
                                try await clock.sleep(until: deadline, tolerance: nil)
                                timerContinuation.yield(.timerFired(timer))
                            } catch {}
                        }
                    case .cordon(let node):
                        do throws(KubeAPIError) {
                            try await kube.markDraining(node: node, until: clock.timestamp + machine.deadline)
                            logger.info("cordoned", metadata: ["node": "\(node)", "reason": "drain"])
                            pending += deliver(.cordoned)
                        } catch {
                            pending += deliver(.cordonFailed(error))
                        }
                    case .listPods(let node):
                        do throws(KubeAPIError) {
                            pending += deliver(.podsListed(try await kube.pods(onNode: node)))
                        } catch {
                            pending += deliver(.listFailed(error))
                        }
                    case .evict(let pod):
                        do throws(KubeAPIError) {
                            let outcome = try await kube.evict(pod)
                            logger.info(
                                "eviction",
                                metadata: ["node": "\(machine.nodeName)", "pod": "\(pod)", "outcome": "\(outcome)"]
                            )
                            pending += deliver(.evictionAnswered(pod, outcome))
                        } catch {
                            pending += deliver(.evictionFailed(pod, error))
                        }
                    case .terminate(let instanceID):
                        do throws(CloudError) {
                            try await cloud.terminate([instanceID])
                            logger.info(
                                "instance terminated",
                                metadata: [
                                    "node": "\(machine.nodeName)", "instance": "\(instanceID)", "reason": "drained",
                                ]
                            )
                            pending += deliver(.terminated)
                        } catch {
                            pending += deliver(.terminateFailed(error))
                        }
                    case .deleteNode(let node):
                        do throws(KubeAPIError) {
                            try await kube.deleteNode(node)
                            logger.info("node deleted", metadata: ["node": "\(node)", "reason": "drained"])
                            pending += deliver(.nodeDeleted)
                        } catch {
                            pending += deliver(.nodeDeleteFailed(error))
                        }
                    }
                }
                guard !Task.isCancelled, let event = await iterator.next() else {
                    return .abandoned(
                        reason:
                            "the agent stopped mid-drain; the node stays cordoned and marked, and the drain resumes at restart"
                    )
                }
                pending += deliver(event)
            }
        }
    }
}
