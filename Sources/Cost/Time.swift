// Wall-clock instants and calendar months, without Foundation.
//
// Budgets are monthly (UTC calendar months), so the planner needs to know which month an instant falls in and how
// many hours are left in it. The caller passes `now`; nothing here reads a clock.

/// An instant on the UTC wall clock, as the time elapsed since 1970-01-01T00:00:00Z.
///
/// Reports, prices and spend are stamped with it; the value is passed in by the caller, never read here.
public struct Timestamp: Codable, Sendable, Hashable, Comparable, CustomStringConvertible, TextOutputStreamable {
    /// Time since the Unix epoch (UTC).
    public var sinceEpoch: Duration

    public init(sinceEpoch: Duration) { self.sinceEpoch = sinceEpoch }

    /// On the wire and in files a timestamp is one JSON integer: milliseconds since the Unix epoch (UTC), the
    /// form every language reads. Finer precision is dropped (toward negative infinity).
    public init(from decoder: any Decoder) throws {
        let milliseconds = try decoder.singleValueContainer().decode(Int64.self)
        self.sinceEpoch = .milliseconds(milliseconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSinceEpoch)
    }

    /// Whole milliseconds since the Unix epoch, rounded toward negative infinity.
    public var millisecondsSinceEpoch: Int64 {
        let (seconds, attoseconds) = sinceEpoch.components
        let milliseconds =
            attoseconds >= 0
            ? attoseconds / 1_000_000_000_000_000 : (attoseconds - 999_999_999_999_999) / 1_000_000_000_000_000
        return seconds * 1_000 + milliseconds
    }

    /// An instant given as whole seconds since the Unix epoch.
    public init(secondsSinceEpoch: Int64) { self.sinceEpoch = .seconds(secondsSinceEpoch) }

    /// The instant at midnight UTC that starts the given day (proleptic Gregorian calendar).
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour) * 3_600 + Int64(minute) * 60 + Int64(second)
        self.sinceEpoch = .seconds(seconds)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.sinceEpoch < rhs.sinceEpoch }
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp { Timestamp(sinceEpoch: lhs.sinceEpoch + rhs) }
    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp { Timestamp(sinceEpoch: lhs.sinceEpoch - rhs) }
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration { lhs.sinceEpoch - rhs.sinceEpoch }

    /// The UTC calendar month this instant falls in.
    public var month: CalendarMonth {
        let seconds = sinceEpoch.components.seconds
        // Floor division so instants before 1970 land on the right day.
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let (year, month, _) = Timestamp.civilFromDays(Int(days))
        return CalendarMonth(year: year, month: month)
    }

    public var description: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// Writes `description` (ISO 8601, UTC, whole seconds) piece by piece, so a reason that interpolates an
    /// instant builds no string for it.
    public func write(to target: inout some TextOutputStream) {
        let seconds = sinceEpoch.components.seconds
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let rest = Int(seconds - days * 86_400)
        let (y, m, d) = Timestamp.civilFromDays(Int(days))
        func two(_ v: Int) {
            if v < 10 { target.write("0") }
            target.write(String(v))
        }
        target.write(String(y))
        target.write("-")
        two(m)
        target.write("-")
        two(d)
        target.write("T")
        two(rest / 3600)
        target.write(":")
        two(rest / 60 % 60)
        target.write(":")
        two(rest % 60)
        target.write("Z")
    }

    // Howard Hinnant's days-from-civil algorithm: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A UTC calendar month, the period a budget covers.
public struct CalendarMonth: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    /// 1 = January … 12 = December.
    public var month: Int

    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The first instant of the month.
    public var start: Timestamp { Timestamp(year: year, month: month, day: 1) }
    /// The first instant of the next month.
    public var end: Timestamp { next.start }
    public var next: CalendarMonth {
        month == 12 ? CalendarMonth(year: year + 1, month: 1) : CalendarMonth(year: year, month: month + 1)
    }
    /// The month's length in hours (672 to 744).
    public var hours: Double { (end - start).hours }

    public static func < (lhs: CalendarMonth, rhs: CalendarMonth) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }
    public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// The duration in (fractional) hours.
    public var hours: Double { seconds / 3_600 }
}
