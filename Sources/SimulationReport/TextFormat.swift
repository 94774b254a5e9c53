/// Deterministic text for the report's numbers, durations, times and markup: fixed decimals, no locale, no
/// clock, so the same result always renders to the same bytes. A value that is not finite renders as "—",
/// never as "nan" or "inf".
enum TextFormat {
    /// What a cell shows when there is no value (no oracle, no budget, not a finite number).
    static let missing = "—"

    /// `value` with exactly `decimals` digits after the point, rounded half away from zero: `fixed(2.345, 1)`
    /// is "2.3", `fixed(-0.04, 1)` is "0.0" (never "-0.0").
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return missing }
        let places = max(0, min(decimals, 9))
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        // Past 2^53 the digits are not exact anyway; Swift's shortest form is still deterministic.
        guard scaled < 9.0e15 else { return value.description }
        let units = UInt64(scaled)
        var text = String(units / scale)
        if places > 0 {
            let fraction = String(units % scale)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return value < 0 && units != 0 ? "-" + text : text
    }

    /// `fixed` with a comma between each group of three integer digits: "12,345.68".
    static func grouped(_ value: Double, decimals: Int) -> String {
        let plain = fixed(value, decimals: decimals)
        guard value.isFinite, abs(value) < 9.0e15 else { return plain }
        let negative = plain.hasPrefix("-")
        let unsigned = negative ? String(plain.dropFirst()) : plain
        let integer = unsigned.prefix { $0 != "." }
        let rest = unsigned.dropFirst(integer.count)
        var groups: [Substring] = []
        var end = integer.endIndex
        while end > integer.startIndex {
            let start = integer.index(end, offsetBy: -3, limitedBy: integer.startIndex) ?? integer.startIndex
            groups.insert(integer[start..<end], at: 0)
            end = start
        }
        return (negative ? "-" : "") + groups.joined(separator: ",") + rest
    }

    /// US dollars: "$1,234.56", "-$3.00".
    static func usd(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return missing }
        let text = grouped(value, decimals: decimals)
        return text.hasPrefix("-") ? "-$" + text.dropFirst() : "$" + text
    }

    /// A fraction as a percentage: `percent(0.8734, decimals: 1)` is "87.3 %".
    static func percent(_ fraction: Double, decimals: Int) -> String {
        guard fraction.isFinite else { return missing }
        return fixed(fraction * 100, decimals: decimals) + " %"
    }

    /// A ratio to the oracle: "1.32×", or "—" when there is none.
    static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return fixed(value, decimals: 2) + "×"
    }

    /// A span of seconds in the unit that reads best: "42 s", "2.1 min", "1.5 h".
    static func duration(seconds: Double) -> String {
        guard seconds.isFinite else { return missing }
        let seconds = max(0, seconds)
        if seconds < 59.5 { return fixed(seconds, decimals: 0) + " s" }
        if seconds < 3_570 { return fixed(seconds / 60, decimals: 1) + " min" }
        return fixed(seconds / 3_600, decimals: 1) + " h"
    }

    /// Time since the run began, as the time axis labels it: "0 h", "6 h", "1 d", "2 d 12 h".
    static func elapsed(minutes: Int) -> String {
        let days = minutes / 1_440
        let hours = (minutes % 1_440) / 60
        let leftover = minutes % 60
        var parts: [String] = []
        if days > 0 { parts.append("\(days) d") }
        if hours > 0 || (days == 0 && leftover == 0) { parts.append("\(hours) h") }
        if leftover > 0 { parts.append("\(leftover) min") }
        return parts.joined(separator: " ")
    }

    /// A run's length: "7 d (168 h)", "36 h", "45 min".
    static func runLength(minutes: Int) -> String {
        if minutes >= 1_440 && minutes % 60 == 0 {
            return "\(elapsed(minutes: minutes)) (\(minutes / 60) h)"
        }
        if minutes >= 60 && minutes % 60 == 0 { return "\(minutes / 60) h" }
        return elapsed(minutes: minutes)
    }

    /// Unix seconds as a UTC date and time: "2024-06-03 00:00 UTC".
    static func utc(unixSeconds: Int64) -> String {
        let secondsPerDay: Int64 = 86_400
        var days = unixSeconds / secondsPerDay
        var secondOfDay = unixSeconds % secondsPerDay
        if secondOfDay < 0 {
            secondOfDay += secondsPerDay
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        return "\(year)-\(twoDigits(month))-\(twoDigits(day)) "
            + "\(twoDigits(secondOfDay / 3_600)):\(twoDigits(secondOfDay % 3_600 / 60)) UTC"
    }

    /// Text made safe for HTML element content and quoted attribute values.
    static func html(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// An SVG coordinate: one decimal, a trailing ".0" dropped, and zero for a value that is not finite, so the
    /// markup never holds "nan".
    static func coordinate(_ value: Double) -> String {
        let text = fixed(value.isFinite ? value : 0, decimals: 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
