@_exported import Fencing

/// What stamps a leader's command: who sent it, under which epoch, from which planning round.
public struct CommandStamp: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The fencing epoch of the lease the sender held when it planned the command.
    public var epoch: FencingEpoch
    /// The plan generation (a counter of planning rounds, per leader epoch) that produced the command.
    public var generation: UInt64
    /// The node id of the coordinator that sent it.
    public var leader: String

    public init(epoch: FencingEpoch, generation: UInt64, leader: String) {
        self.epoch = epoch
        self.generation = generation
        self.leader = leader
    }

    public var description: String { "\(leader) \(epoch) generation \(generation)" }
}
