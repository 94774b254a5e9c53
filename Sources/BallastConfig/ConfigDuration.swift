/// A `Duration` as written in a configuration file: a number with a unit, `250ms`, `10s`, `2m`, `1h`, or a
/// sum of them, `1m30s`. Encodes back to the same canonical form, so a config round-trips.
public struct ConfigDuration: Codable, Hashable, Sendable, CustomStringConvertible {
    public var duration: Duration

    public init(_ duration: Duration) {
        self.duration = duration
    }

    /// What the parser accepts, for error messages.
    public static let expectedForm = "a duration such as 250ms, 10s, 2m, 1h or 1m30s"

    /// Parses the textual form; nil when it is not one.
    public init?(parsing text: String) {
        var total: Duration = .zero
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? rest.endIndex
            guard numberEnd != rest.startIndex, let value = Double(rest[..<numberEnd]), value.isFinite, value >= 0
            else { return nil }
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex(where: { $0.isNumber || $0 == "." }) ?? rest.endIndex
            let unit = rest[..<unitEnd]
            rest = rest[unitEnd...]
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            let seconds = value * scale
            guard seconds < 1e12 else { return nil }
            total += .nanoseconds(Int64((seconds * 1e9).rounded()))
        }
        self.duration = total
    }

    public var description: String {
        let (seconds, attoseconds) = duration.components
        let nanos = attoseconds / 1_000_000_000
        if nanos == 0 {
            if seconds != 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
            if seconds != 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
        let totalNanos = seconds * 1_000_000_000 + nanos
        if totalNanos % 1_000_000 == 0 { return "\(totalNanos / 1_000_000)ms" }
        if totalNanos % 1_000 == 0 { return "\(totalNanos / 1_000)us" }
        return "\(totalNanos)ns"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int.self) {
            // A bare number is ambiguous: refuse it rather than guess a unit.
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (a unit is required; found the bare number \(seconds))"
            )
        }
        let text = try container.decode(String.self)
        guard let parsed = ConfigDuration(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(text)\")"
            )
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
