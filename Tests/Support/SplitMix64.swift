import Clocks

/// The tests' seeded generator: the same as the simulator's (`SeededRandom`), so a failing seed replays.
public typealias SplitMix64 = SeededRandom
