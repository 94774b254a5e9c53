/// The leader's fencing epoch: a number that grows every time the leader lease changes hands. Every command is
/// stamped with it, and an agent refuses any command whose epoch is lower than the highest it has seen, so a
/// deposed leader can never act again.
public struct FencingEpoch: RawRepresentable, Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ value: UInt64) {
        self.rawValue = value
    }

    /// No leader has ever been seen.
    public static let none = FencingEpoch(0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "epoch \(rawValue)" }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

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
