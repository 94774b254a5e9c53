/// `waitUntil` gave up: `what` did not happen in time.
public struct NotInTime: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "not in time: \(what)" }
}

/// Polls `condition` every 200 ms for up to `timeout`; throws `NotInTime` naming `what` when it never holds.
public func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw NotInTime(what: what)
}

/// Polls `condition` every 100 ms for up to `timeout`; whether it came to hold (a test then states what it expected).
public func eventually(
    timeout: Duration = .seconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
