import Testing

/// The suites that run in real time (child processes, real clocks): one at a time, so their timing is not
/// distorted by each other on a small machine.
@Suite("real time and processes", .serialized)
enum RealTimeSuites {}
