import Foundation

/// A span of time as a scenario file writes it: a number with a unit, `90s`, `30m`, `2h`, `7d`, or a sum of them,
/// `3d5h`, `1h30m`. Scenario times are mostly whole minutes (`at`, `for`, `duration`, `offset`); boot delays take
/// seconds. A bare `0` is zero; any other bare number is refused, because its unit would be a guess.
struct ScenarioDuration: Codable, Hashable, Sendable, CustomStringConvertible {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    static let expectedForm = "a duration such as 90s, 30m, 2h, 7d or 3d5h"

    init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if rest == "0" {
            seconds = 0
            return
        }
        var total = 0.0
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) ?? rest.endIndex
            guard numberEnd != rest.startIndex, let value = Double(rest[..<numberEnd]), value.isFinite, value >= 0
            else { return nil }
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex(where: { $0.isASCII && ($0.isNumber || $0 == ".") }) ?? rest.endIndex
            let scale: Double
            switch rest[..<unitEnd] {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            default: return nil
            }
            rest = rest[unitEnd...]
            total += value * scale
        }
        // A run of more than about 30,000 years is a typo, and keeps minute counts far inside Int.
        guard total < 1e12 else { return nil }
        seconds = total
    }

    /// The span in whole minutes, or nil when it is not a whole number of minutes.
    var wholeMinutes: Int? {
        let minutes = seconds / 60
        return minutes == minutes.rounded() ? Int(minutes) : nil
    }

    var description: String {
        guard seconds == seconds.rounded() else { return "\(seconds)s" }
        var rest = Int(seconds)
        guard rest > 0 else { return "0" }
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let number = try? container.decode(Double.self) {
            guard number == 0 else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "\(Self.expectedForm) (a unit is required; found the bare number \(number))"
                )
            }
            text = "0"
        } else {
            text = try container.decode(String.self)
        }
        guard let parsed = ScenarioDuration(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(text)\")"
            )
        }
        self = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The wall time a run starts at: an ISO-8601 date-time (`2026-07-06T00:00:00Z`, or with an offset such as
/// `+02:00`), a date alone (`2026-07-06`, midnight UTC), or Unix seconds (`1783296000`).
struct ScenarioStart: Codable, Hashable, Sendable {
    /// Unix seconds, UTC.
    var unixSeconds: Int64

    init(unixSeconds: Int64) {
        self.unixSeconds = unixSeconds
    }

    static let expectedForm =
        "an ISO-8601 UTC date-time such as 2026-07-06T00:00:00Z, a date such as 2026-07-06, or Unix seconds"

    init?(parsing text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(text) {
            unixSeconds = seconds
            return
        }
        let dateTime = ISO8601DateFormatter()
        dateTime.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        dateOnly.timeZone = TimeZone(identifier: "UTC")
        guard let date = dateTime.date(from: text) ?? fractional.date(from: text) ?? dateOnly.date(from: text)
        else { return nil }
        unixSeconds = Int64(date.timeIntervalSince1970.rounded(.down))
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int64.self) {
            unixSeconds = seconds
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ScenarioStart(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(text)\")"
            )
        }
        self = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unixSeconds)
    }
}

/// A cluster's time zone as hours east of UTC: a whole number (`-4`, `1`) or `UTC`, `UTC+1`, `UTC-4`.
struct ScenarioTimeZone: Codable, Hashable, Sendable {
    var hoursEastOfUTC: Int

    init(hoursEastOfUTC: Int) {
        self.hoursEastOfUTC = hoursEastOfUTC
    }

    static let expectedForm = "whole hours east of UTC from -12 to 14, such as -4, 1, UTC-4 or UTC+1"

    init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.uppercased().hasPrefix("UTC") || rest.uppercased().hasPrefix("GMT") {
            rest = rest.dropFirst(3)
            if rest.isEmpty {
                hoursEastOfUTC = 0
                return
            }
        }
        if rest.hasPrefix("+") { rest = rest.dropFirst() }
        guard let hours = Int(rest), (-12...14).contains(hours) else { return nil }
        hoursEastOfUTC = hours
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let parsed: ScenarioTimeZone?
        let found: String
        if let hours = try? container.decode(Int.self) {
            parsed = (-12...14).contains(hours) ? ScenarioTimeZone(hoursEastOfUTC: hours) : nil
            found = "\(hours)"
        } else {
            found = try container.decode(String.self)
            parsed = ScenarioTimeZone(parsing: found)
        }
        guard let parsed else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(found)\")"
            )
        }
        self = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hoursEastOfUTC)
    }
}

/// A Kubernetes resource quantity as pod requests write it: a decimal number with at most one suffix, binary
/// (`Ki` `Mi` `Gi` `Ti`) or decimal (`m` `k` `M` `G` `T`): `250m`, `0.5`, `1`, `512Mi`, `1Gi`, `2G`.
struct ScenarioQuantity: Codable, Hashable, Sendable {
    /// The text as written.
    var text: String
    /// The amount in base units (cores, bytes).
    var amount: Double

    static let expectedForm = "a Kubernetes quantity such as 250m, 0.5, 1, 512Mi or 1Gi"

    init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numberEnd = trimmed.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) ?? trimmed.endIndex
        guard numberEnd != trimmed.startIndex, let value = Double(trimmed[..<numberEnd]), value.isFinite else {
            return nil
        }
        let multiplier: Double
        switch trimmed[numberEnd...] {
        case "": multiplier = 1
        case "m": multiplier = 1e-3
        case "k": multiplier = 1e3
        case "M": multiplier = 1e6
        case "G": multiplier = 1e9
        case "T": multiplier = 1e12
        case "Ki": multiplier = 1024
        case "Mi": multiplier = 1_048_576
        case "Gi": multiplier = 1_073_741_824
        case "Ti": multiplier = 1_099_511_627_776
        default: return nil
        }
        self.text = trimmed
        self.amount = value * multiplier
    }

    /// Thousandths of the amount, rounded up so a request never reads smaller than written: millicores.
    var milli: Int { Int(min((amount * 1000).rounded(.up), 1e15)) }
    /// The amount rounded up: bytes.
    var whole: Int { Int(min(amount.rounded(.up), 1e15)) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else {
            text = "\(try container.decode(Double.self))"
        }
        guard let parsed = ScenarioQuantity(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(Self.expectedForm) (found \"\(text)\")"
            )
        }
        self = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
