// Fencing: the one value the leader lease (Consensus) and the commands on the wire (FleetAPI) must agree on.
// A module of its own so that neither depends on the other. No dependencies.

/// A fencing epoch: incremented in the same conditional write that changes the leader lease's holder, so every
/// holder of a fleet's lease has a strictly larger epoch than every holder before it. Every command a leader
/// sends carries it, and an agent refuses any epoch lower than the highest it has seen, so a deposed leader can
/// never act again. On the wire it is a plain JSON integer.
public struct FencingEpoch: RawRepresentable, Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// No leader has ever been seen.
    public static let none = FencingEpoch(0)

    /// The epoch a new holder takes over with.
    public var next: FencingEpoch { FencingEpoch(rawValue &+ 1) }

    public static func < (lhs: FencingEpoch, rhs: FencingEpoch) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The bare number, as it appears in log lines (`ballast.epoch=7`).
    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
