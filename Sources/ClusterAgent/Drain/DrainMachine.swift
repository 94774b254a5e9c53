import Cost
import FleetAPI
import Wire

/// The drain of one worker as a value-type state machine: cordon, evict every pod a drain must evict (one eviction
/// at a time, retrying those a PodDisruptionBudget blocks with backoff), wait until they are gone, terminate the
/// instance, delete the node. It owns only the drain's progress; it reads no clock and does no I/O: events in
/// (`DrainMachine.Event`), actions out (`DrainMachine.Action`), one interpreter (`DrainService`) performs them.
///
/// Promises:
/// - it never asks to terminate an instance while its node still runs a pod other than DaemonSet and mirror pods
///   (a terminate follows only a pod listing of the node that shows none);
/// - it never deletes a pod: every removal is an eviction through the Eviction API;
/// - when the deadline passes before the pods are gone, it ends with the node left cordoned and a reason;
/// - an eviction that fails with HTTP 500 (several budgets match a pod) ends the drain at once;
/// - once the agent has seen an epoch higher than the drain's, it sends no further eviction (and, the node not yet
///   empty, never reaches termination).
public struct DrainMachine: Sendable {
    /// Timings of one drain.
    public struct Settings: Sendable, Hashable {
        /// The first delay before retrying a blocked eviction, a failed cordon or a failed termination; doubles
        /// on each retry of the same thing up to `maximumRetryDelay`, with equal jitter. Default 1 s.
        public var initialRetryDelay: Duration
        /// Default 30 s.
        public var maximumRetryDelay: Duration
        /// How often the node's pods are listed while waiting for evicted pods to go. Default 2 s.
        public var podPollInterval: Duration

        public init(
            initialRetryDelay: Duration = .seconds(1),
            maximumRetryDelay: Duration = .seconds(30),
            podPollInterval: Duration = .seconds(2)
        ) {
            self.initialRetryDelay = initialRetryDelay
            self.maximumRetryDelay = maximumRetryDelay
            self.podPollInterval = podPollInterval
        }
    }

    /// What a drain waits for.
    public enum Timer: Sendable, Hashable {
        /// The drain's deadline.
        case deadline
        /// Time to retry the eviction of this pod.
        case retryEviction(KubePod.Reference)
        /// Time to list the node's pods again.
        case pollPods
        /// Time to retry the cordon.
        case retryCordon
        /// Time to retry the termination.
        case retryTerminate
    }

    public enum Action: Sendable, Hashable {
        case cordon(node: String)
        /// List the pods bound to the node; answer with `.podsListed` or `.listFailed`.
        case listPods(node: String)
        case evict(KubePod.Reference)
        /// Deliver `.timerFired(timer)` after `delay`.
        case startTimer(Timer, after: Duration)
        case terminate(instanceID: String)
        case deleteNode(String)
        /// The drain is over; perform nothing more for it.
        case finish(DrainOutcome)
    }

    public enum Event: Sendable, Hashable {
        /// The drain begins (or resumes, after a restart: cordoning again is harmless).
        case start
        case cordoned
        case cordonFailed(KubeAPIError)
        /// The pods bound to the node now.
        case podsListed([KubePod])
        case listFailed(KubeAPIError)
        case evictionAnswered(KubePod.Reference, EvictionOutcome)
        case evictionFailed(KubePod.Reference, KubeAPIError)
        case terminated
        case terminateFailed(CloudError)
        case nodeDeleted
        case nodeDeleteFailed(KubeAPIError)
        case timerFired(Timer)
        /// The agent has seen `epoch`, higher than the drain's: the leader that asked for it is deposed.
        case superseded(by: FencingEpoch)
    }

    enum Phase: Sendable, Hashable {
        case idle
        case cordoning
        /// Evicting: `queue` waits its turn, `inFlight` is being evicted, `retrying` wait for their timers,
        /// `evicted` were accepted and are terminating.
        case evicting
        /// Listing the node's pods (to start, to check on evicted pods, or to confirm it is empty).
        case listing
        case terminating
        case deletingNode
        case finished(DrainOutcome)
    }

    public let nodeName: String
    public let instanceID: String
    /// The epoch of the command that asked for the drain; nil for the agent's own (spot interruption).
    public let epoch: FencingEpoch?
    let settings: Settings
    /// How long the drain may take; the deadline timer is started with it.
    let deadline: Duration
    private var random: any RandomNumberGenerator & Sendable
    private(set) var phase: Phase = .idle
    private var queue: [KubePod.Reference] = []
    private var inFlight: KubePod.Reference?
    private var retrying: Set<KubePod.Reference> = []
    private var evicted: Set<KubePod.Reference> = []
    private var backoffs: [KubePod.Reference: ReconnectBackoff] = [:]
    private var cordonBackoff: ReconnectBackoff
    private var terminateBackoff: ReconnectBackoff
    /// The node's pods that block termination, as last listed: what a deadline reports.
    private var lastRemaining: [KubePod.Reference] = []
    private var pollScheduled = false
    private var deadlinePassed = false
    /// Evictions the API accepted, for the outcome.
    public private(set) var evictionCount = 0

    /// - Parameter random: draws the retry delays' jitter (seeded in tests and the simulator).
    public init(
        nodeName: String,
        instanceID: String,
        epoch: FencingEpoch?,
        deadline: Duration,
        settings: Settings = Settings(),
        random: any RandomNumberGenerator & Sendable
    ) {
        self.nodeName = nodeName
        self.instanceID = instanceID
        self.epoch = epoch
        self.deadline = deadline
        self.settings = settings
        self.random = random
        // Retries of one thing reuse the wire's reconnect backoff: exponential, capped, half fixed and half random.
        let backoff = ReconnectBackoff(initial: settings.initialRetryDelay, maximum: settings.maximumRetryDelay)
        self.cordonBackoff = backoff
        self.terminateBackoff = backoff
    }

    /// The drain has ended.
    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// How it ended, once it has.
    public var outcome: DrainOutcome? {
        if case .finished(let outcome) = phase { return outcome }
        return nil
    }

    /// Takes one event; returns what to do next, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        if case .finished = phase { return [] }
        switch event {
        case .start:
            guard phase == .idle else { return [] }
            phase = .cordoning
            return [.startTimer(.deadline, after: deadline), .cordon(node: nodeName)]

        case .cordoned:
            guard phase == .cordoning else { return [] }
            phase = .listing
            return [.listPods(node: nodeName)]

        case .cordonFailed(let error):
            guard phase == .cordoning else { return [] }
            if error.code == .unauthorized {
                return finish(.failed(reason: "cannot cordon: \(error)"))
            }
            return [.startTimer(.retryCordon, after: cordonBackoff.nextDelay(using: &random))]

        case .podsListed(let pods):
            guard phase == .listing else { return [] }
            return afterListing(pods)

        case .listFailed:
            guard phase == .listing else { return [] }
            // The API may be briefly away; look again after the poll interval (the deadline bounds it).
            return schedulePoll()

        case .evictionAnswered(let pod, let outcome):
            guard phase == .evicting, inFlight == pod else { return [] }
            inFlight = nil
            switch outcome {
            case .evicted:
                evicted.insert(pod)
                evictionCount += 1
            case .gone:
                evicted.insert(pod)
            case .blockedByDisruptionBudget:
                return retryLater(pod) + next()
            }
            return next()

        case .evictionFailed(let pod, let error):
            guard phase == .evicting, inFlight == pod else { return [] }
            inFlight = nil
            if error.status == 500 {
                return finish(
                    .failed(
                        reason:
                            "eviction of \(pod) failed with HTTP 500 (more than one budget matches it?): \(error.message)"
                    )
                )
            }
            if error.code == .unauthorized {
                return finish(.failed(reason: "eviction of \(pod) refused: \(error)"))
            }
            return retryLater(pod) + next()

        case .terminated:
            guard phase == .terminating else { return [] }
            phase = .deletingNode
            return [.deleteNode(nodeName)]

        case .terminateFailed(let error):
            guard phase == .terminating else { return [] }
            if deadlinePassed || error.code == .invalidRequest {
                return finish(
                    .abandoned(reason: "the node is empty but its instance could not be terminated: \(error)")
                )
            }
            return [.startTimer(.retryTerminate, after: terminateBackoff.nextDelay(using: &random))]

        case .nodeDeleted:
            guard phase == .deletingNode else { return [] }
            return finish(.completed(evictions: evictionCount))

        case .nodeDeleteFailed(let error):
            guard phase == .deletingNode else { return [] }
            // The instance is gone; the node object goes NotReady and is removed on the agent's next pass.
            return finish(.completed(evictions: evictionCount, note: "node object not deleted: \(error)"))

        case .timerFired(let timer):
            return timerFired(timer)

        case .superseded(let newer):
            guard let epoch, newer > epoch else { return [] }
            switch phase {
            case .idle, .cordoning, .listing, .evicting:
                // An eviction in flight has been sent; no further one is.
                return finish(
                    .stopped(reason: "epoch \(newer) superseded the drain's epoch \(epoch); the node stays cordoned")
                )
            case .terminating, .deletingNode, .finished:
                // The node is empty and its termination sent: what is left is the end of that one call.
                return []
            }
        }
    }

    private mutating func timerFired(_ timer: Timer) -> [Action] {
        switch timer {
        case .deadline:
            switch phase {
            case .terminating:
                // The node is already empty; let the termination in flight end the drain.
                deadlinePassed = true
                return []
            case .deletingNode, .finished:
                return []
            default:
                let remaining = Set(lastRemaining).union(queue).union(retrying).union(inFlight.map { [$0] } ?? [])
                let names = remaining.map(\.description).sorted()
                let listed = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", …" : "")
                return finish(
                    .abandoned(
                        reason: names.isEmpty
                            ? "deadline passed before the node was cordoned and listed; the node stays cordoned"
                            : "deadline passed with \(names.count) pod(s) still on the node (\(listed)); the node stays cordoned"
                    )
                )
            }
        case .retryEviction(let pod):
            guard phase == .evicting || phase == .listing, retrying.remove(pod) != nil else { return [] }
            queue.append(pod)
            return phase == .evicting ? next() : []
        case .pollPods:
            pollScheduled = false
            guard phase == .evicting, inFlight == nil, queue.isEmpty else { return [] }
            phase = .listing
            return [.listPods(node: nodeName)]
        case .retryCordon:
            guard phase == .cordoning else { return [] }
            return [.cordon(node: nodeName)]
        case .retryTerminate:
            guard phase == .terminating else { return [] }
            return [.terminate(instanceID: instanceID)]
        }
    }

    /// The node's pods are known: queue those still to evict, terminate if none remains, else keep going.
    private mutating func afterListing(_ pods: [KubePod]) -> [Action] {
        let onNode = pods.filter { $0.nodeName == nodeName }
        // Terminating pods and finished ones still block termination until they are gone; DaemonSet and mirror
        // pods go with the node.
        let blocking = onNode.filter {
            !$0.isDaemonSetPod && !$0.isMirrorPod && $0.phase != .succeeded && $0.phase != .failed
        }
        lastRemaining = blocking.map(\.reference)
        // What left the node needs no more eviction, nor waiting for: an evicted pod no longer listed is gone, a
        // blocked one that went (its controller scaled down) needs no retry.
        let remaining = Set(lastRemaining)
        evicted.formIntersection(remaining)
        retrying.formIntersection(remaining)
        queue.removeAll { !remaining.contains($0) }
        if blocking.isEmpty {
            phase = .terminating
            return [.terminate(instanceID: instanceID)]
        }
        for pod in onNode where pod.mustBeEvictedByDrain {
            let reference = pod.reference
            // A pod already accepted for eviction is on its way out; one waiting for a retry keeps its timer.
            guard !evicted.contains(reference), !retrying.contains(reference), !queue.contains(reference) else {
                continue
            }
            queue.append(reference)
        }
        phase = .evicting
        return next()
    }

    /// The next eviction or, when there is none to send now, a poll of the node while evicted pods may still be on
    /// it. When only blocked pods wait for their retry timers, those timers move the drain on; polling meanwhile
    /// would only load the API server.
    private mutating func next() -> [Action] {
        guard inFlight == nil else { return [] }
        if !queue.isEmpty {
            let pod = queue.removeFirst()
            inFlight = pod
            return [.evict(pod)]
        }
        if evicted.isEmpty && !retrying.isEmpty { return [] }
        return schedulePoll()
    }

    private mutating func schedulePoll() -> [Action] {
        guard !pollScheduled else { return [] }
        pollScheduled = true
        if phase == .listing { phase = .evicting }
        return [.startTimer(.pollPods, after: settings.podPollInterval)]
    }

    private mutating func retryLater(_ pod: KubePod.Reference) -> [Action] {
        retrying.insert(pod)
        var backoff =
            backoffs[pod] ?? ReconnectBackoff(initial: settings.initialRetryDelay, maximum: settings.maximumRetryDelay)
        let delay = backoff.nextDelay(using: &random)
        backoffs[pod] = backoff
        return [.startTimer(.retryEviction(pod), after: delay)]
    }

    private mutating func finish(_ outcome: DrainOutcome) -> [Action] {
        phase = .finished(outcome)
        queue.removeAll()
        inFlight = nil
        return [.finish(outcome)]
    }
}

/// How a drain ended.
public enum DrainOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Pods evicted, instance terminated, node deleted (or left to go NotReady, as `note` says).
    case completed(evictions: Int, note: String? = nil)
    /// The deadline passed first (or an empty node's instance could not be terminated): the node is left
    /// cordoned, its instance running.
    case abandoned(reason: String)
    /// The drain cannot go on (HTTP 500 from the Eviction API, refused credentials): left cordoned.
    case failed(reason: String)
    /// A newer leader's epoch superseded the command: no further eviction or termination; left cordoned.
    case stopped(reason: String)

    /// The instance was terminated.
    public var terminated: Bool {
        if case .completed = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .completed(let evictions, let note):
            "completed after \(evictions) eviction(s)" + (note.map { "; \($0)" } ?? "")
        case .abandoned(let reason): "abandoned: \(reason)"
        case .failed(let reason): "failed: \(reason)"
        case .stopped(let reason): "stopped: \(reason)"
        }
    }
}
