import Foundation

/// A Kubernetes resource quantity (`250m`, `1.5`, `512Mi`, `2G`, `1e3`), held exactly as a decimal.
///
/// Parsing follows the API's grammar: a signed decimal number, then at most one suffix: binary SI (`Ki` `Mi`
/// `Gi` `Ti` `Pi` `Ei`), decimal SI (`n` `u` `m` `k` `M` `G` `T` `P` `E`) or a decimal exponent (`e3`, `E-2`).
/// ``milliValue`` and ``value`` round up, as the API's `MilliValue()` and `Value()` do, so a request never
/// reads as smaller than it is.
public struct Quantity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The text as the API wrote it.
    public let text: String
    /// The exact amount (cores for cpu, bytes for memory).
    public let amount: Decimal

    /// Why a quantity did not parse.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let text: String
        public var description: String {
            "quantity \"\(text)\" does not match the Kubernetes quantity format (e.g. 250m, 1.5, 512Mi, 2G, 1e3)"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let scalars = Array(text.utf8)
        var index = 0
        if index < scalars.count, scalars[index] == UInt8(ascii: "+") || scalars[index] == UInt8(ascii: "-") {
            index += 1
        }
        var sawDigit = false
        var sawPoint = false
        while index < scalars.count {
            let byte = scalars[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                sawDigit = true
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { throw ParseError(text: text) }
        let number = String(decoding: scalars[..<index], as: UTF8.self)
        let suffix = String(decoding: scalars[index...], as: UTF8.self)
        guard let base = Decimal(string: number, locale: Locale(identifier: "en_US_POSIX")) else {
            throw ParseError(text: text)
        }
        guard let multiplier = Self.multiplier(suffix) else { throw ParseError(text: text) }
        self.text = text
        self.amount = base * multiplier
    }

    /// A quantity of `amount` written as its plain decimal.
    public init(_ amount: Decimal) {
        self.amount = amount
        self.text = "\(amount)"
    }

    private static func multiplier(_ suffix: String) -> Decimal? {
        switch suffix {
        case "": return 1
        case "Ki": return power(2, 10)
        case "Mi": return power(2, 20)
        case "Gi": return power(2, 30)
        case "Ti": return power(2, 40)
        case "Pi": return power(2, 50)
        case "Ei": return power(2, 60)
        case "n": return Decimal(sign: .plus, exponent: -9, significand: 1)
        case "u": return Decimal(sign: .plus, exponent: -6, significand: 1)
        case "m": return Decimal(sign: .plus, exponent: -3, significand: 1)
        case "k": return Decimal(sign: .plus, exponent: 3, significand: 1)
        case "M": return Decimal(sign: .plus, exponent: 6, significand: 1)
        case "G": return Decimal(sign: .plus, exponent: 9, significand: 1)
        case "T": return Decimal(sign: .plus, exponent: 12, significand: 1)
        case "P": return Decimal(sign: .plus, exponent: 15, significand: 1)
        case "E": return Decimal(sign: .plus, exponent: 18, significand: 1)
        default:
            // A decimal exponent: e or E, an optional sign, digits.
            guard let first = suffix.first, first == "e" || first == "E" else { return nil }
            var digits = Substring(suffix.dropFirst())
            var negative = false
            if let sign = digits.first, sign == "+" || sign == "-" {
                negative = sign == "-"
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let exponent = Int(digits), exponent <= 100
            else { return nil }
            return Decimal(sign: .plus, exponent: negative ? -exponent : exponent, significand: 1)
        }
    }

    private static func power(_ base: Int, _ exponent: Int) -> Decimal {
        var result = Decimal(1)
        for _ in 0..<exponent { result *= Decimal(base) }
        return result
    }

    /// The amount in thousandths, rounded up (away from zero): millicores for cpu.
    public var milliValue: Int64 { Self.roundedUp(amount * 1000) }

    /// The amount rounded up (away from zero) to a whole number: bytes for memory.
    public var value: Int64 { Self.roundedUp(amount) }

    private static func roundedUp(_ decimal: Decimal) -> Int64 {
        if decimal < 0 { return -roundedUp(-decimal) }
        var input = decimal
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, 0, .up)
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // The API writes quantities as strings; some clients send plain numbers.
        if let text = try? container.decode(String.self) {
            do {
                try self.init(parsing: text)
            } catch {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
            }
        } else {
            let number = try container.decode(Double.self)
            do {
                try self.init(parsing: String(number))
            } catch {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
