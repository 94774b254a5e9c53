import Clocks
import Cost
import Distributed
import FleetAPI
import Logging
import Metrics
import Wire

/// Sends the leader's commands to agents: each stamped with the epoch the lease gave, checked right before every
/// attempt, retried with backoff on a transport failure (the same command, so the same launch token: a resend never
/// launches twice), never retried after a typed refusal.
///
/// Promise: nothing is sent once `leadership` no longer grants the command's epoch.
public struct CommandSender: Sendable {
    /// What became of one command.
    public enum Outcome<Receipt: Sendable & Hashable>: Sendable, Hashable {
        /// The agent accepted it.
        case accepted(Receipt)
        /// The agent refused it with a typed error (stale epoch, rejected, launch failed); not retried.
        case refused(code: String, message: String)
        /// No answer after every attempt (connection lost, timeout, agent not connected).
        case unreachable(String)
        /// This replica no longer leads under the command's epoch: not sent.
        case notLeading
    }

    public var attempts: Int
    public var backoff: Duration
    private let system: WireActorSystem
    private let leadership: any Leadership
    private let clock: any FleetClock
    private let logger: Logger

    public init(
        system: WireActorSystem,
        leadership: any Leadership,
        clock: any FleetClock,
        attempts: Int = 3,
        backoff: Duration = .milliseconds(200),
        logger: Logger
    ) {
        self.system = system
        self.leadership = leadership
        self.clock = clock
        self.attempts = attempts
        self.backoff = backoff
        self.logger = logger
    }

    public func send(_ command: LaunchCommand) async -> Outcome<LaunchReceipt> {
        let outcome = await attempt(command.stamp, cluster: command.cluster, kind: "launch") { agent in
            try await agent.launch(command)
        }
        log(
            outcome,
            kind: "launch",
            cluster: command.cluster,
            stamp: command.stamp,
            detail: [
                "pool": "\(command.instanceType)/\(command.market)/\(command.availabilityZone)",
                "count": "\(command.count)", "ballast.token": "\(command.token)",
            ]
        )
        return outcome
    }

    public func send(_ command: DrainCommand) async -> Outcome<DrainReceipt> {
        let outcome = await attempt(command.stamp, cluster: command.cluster, kind: "drain") { agent in
            try await agent.drain(command)
        }
        log(
            outcome,
            kind: "drain",
            cluster: command.cluster,
            stamp: command.stamp,
            detail: ["node": "\(command.nodeName)"]
        )
        return outcome
    }

    public func send(_ command: TerminateOrphansCommand) async -> Outcome<OrphanTerminationReceipt> {
        let outcome = await attempt(command.stamp, cluster: command.cluster, kind: "terminate_orphans") { agent in
            try await agent.terminateOrphans(command)
        }
        log(
            outcome,
            kind: "terminate_orphans",
            cluster: command.cluster,
            stamp: command.stamp,
            detail: ["instances": "\(command.instanceIDs.joined(separator: ","))"]
        )
        return outcome
    }

    public func send(_ command: RoutedInterruption) async -> Outcome<RoutedInterruptionReceipt> {
        let outcome = await attempt(command.stamp, cluster: command.cluster, kind: "interruption") { agent in
            try await agent.acceptInterruption(command)
        }
        log(
            outcome,
            kind: "interruption",
            cluster: command.cluster,
            stamp: command.stamp,
            detail: [
                "sqs.message-id": "\(command.messageID)", "kind": "\(command.kind.rawValue)",
                "instances": "\(command.instanceIDs.joined(separator: ","))",
            ]
        )
        return outcome
    }

    private func attempt<Receipt: Sendable & Hashable>(
        _ stamp: CommandStamp,
        cluster: ClusterID,
        kind: String,
        _ call: @Sendable (any ClusterAgentEndpoint) async throws -> Receipt
    ) async -> Outcome<Receipt> {
        var delay = backoff
        var lastProblem = "not sent"
        for attempt in 1...max(1, attempts) {
            // The lease's word right before every attempt: a replica that lost it sends nothing more.
            guard leadership.actingEpoch() == stamp.epoch else { return .notLeading }
            do {
                let agent = try $ClusterAgentEndpoint.resolve(
                    id: WireActorSystem.wellKnownID(node: cluster.rawValue, name: WireActorSystem.WellKnownName.agent),
                    using: system
                )
                return .accepted(try await call(agent))
            } catch let error as CommandRejectedError where error.reason == .unavailable {
                // The agent cannot act safely right now (its epoch file, its cloud or API server): the same
                // command is worth sending again, like a transport failure.
                lastProblem = "\(error)"
            } catch let error as any WireRemoteError {
                return .refused(code: type(of: error).wireErrorCode, message: "\(error)")
            } catch let error as WireCallError where Self.isTransient(error.code) {
                lastProblem = "\(error)"
            } catch let error as WireCallError {
                return .refused(code: "wire.\(error.code)", message: "\(error)")
            } catch {
                lastProblem = "\(error)"
            }
            if attempt < attempts {
                do {
                    try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil)
                } catch {
                    return .unreachable("cancelled while retrying: \(lastProblem)")
                }
                delay = delay * 2
            }
        }
        return .unreachable(lastProblem)
    }

    /// Failures after which the same command may be sent again: the agent may not have received it, or may have
    /// executed it (a resend is idempotent by token or node).
    static func isTransient(_ code: WireCallError.Code) -> Bool {
        switch code {
        case .timeout, .connectionClosed, .peerNotConnected, .overloaded: true
        default: false
        }
    }

    private func log<Receipt>(
        _ outcome: Outcome<Receipt>,
        kind: String,
        cluster: ClusterID,
        stamp: CommandStamp,
        detail: Logger.Metadata
    ) {
        var metadata = detail
        metadata["ballast.cluster"] = "\(cluster)"
        metadata["ballast.epoch"] = "\(stamp.epoch)"
        metadata["ballast.generation"] = "\(stamp.generation)"
        let label: String
        switch outcome {
        case .accepted:
            label = "ok"
            logger.info("command accepted: \(kind)", metadata: metadata)
        case .refused(let code, let message):
            // A refusal by fencing or a local rule of the agent's is `refused`; a launch that was tried and
            // failed (capacity, quota) is `failed`.
            label =
                [StaleEpochError.wireErrorCode, CommandRejectedError.wireErrorCode].contains(code)
                ? "refused" : "failed"
            metadata["code"] = "\(code)"
            metadata["error"] = "\(message)"
            logger.warning("command refused: \(kind)", metadata: metadata)
        case .unreachable(let problem):
            label = "unreachable"
            metadata["error"] = "\(problem)"
            logger.warning("command not delivered: \(kind)", metadata: metadata)
        case .notLeading:
            label = "not_leading"
            logger.notice("command not sent, no longer leading: \(kind)", metadata: metadata)
        }
        Counter(
            label: "ballast_commands_total",
            dimensions: [("cluster", cluster.rawValue), ("kind", kind), ("outcome", label)]
        ).increment()
    }
}
