/// Writes JSON exactly as Foundation's `JSONEncoder` with `.sortedKeys` does: no whitespace, `/` escaped as
/// `\/`, control characters as `\b \f \n \r \t` or `\u00xx`, doubles in their shortest form without a
/// trailing `.0`. Keys must be written in the byte order of their UTF-8, as sorted keys are.
public struct WireJSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Set when a value has no JSON form here (a non-finite double); the coding then falls back to Foundation,
    /// which reports the error.
    public private(set) var failed = false
    private var isFirst = true

    public init() {
        bytes.reserveCapacity(512)
    }

    /// Gives up on this value (it has no JSON form here, or its `Codable` conformance would fail on it): the
    /// coding falls back to Foundation, which writes it or reports the error.
    public mutating func declineValue() {
        failed = true
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        isFirst = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        isFirst = false
    }

    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        isFirst = true
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        isFirst = false
    }

    /// Starts the next member of an object: its key, then the caller writes its value.
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Starts the next element of an array; the caller then writes its value.
    public mutating func element() {
        separate()
    }

    private mutating func separate() {
        if !isFirst { bytes.append(UInt8(ascii: ",")) }
        isFirst = true
    }

    public mutating func write(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0x08: escape(UInt8(ascii: "b"))
            case 0x0C: escape(UInt8(ascii: "f"))
            case 0x0A: escape(UInt8(ascii: "n"))
            case 0x0D: escape(UInt8(ascii: "r"))
            case 0x09: escape(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        isFirst = false
    }

    private mutating func escape(_ letter: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(letter)
    }

    public mutating func write(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        writeDigits(value.magnitude)
    }

    public mutating func write(_ value: Int) {
        write(Int64(value))
    }

    public mutating func write(_ value: UInt64) {
        writeDigits(value)
    }

    private mutating func writeDigits(_ value: UInt64) {
        // Up to 15 digits fit in a small string, which needs no allocation.
        bytes.append(contentsOf: String(value).utf8)
        isFirst = false
    }

    public mutating func write(_ value: Bool) {
        if value { bytes.append(contentsOf: "true".utf8) } else { bytes.append(contentsOf: "false".utf8) }
        isFirst = false
    }

    public mutating func write(_ value: Double) {
        guard value.isFinite else {
            declineValue()
            return
        }
        // Foundation writes the shortest form that reads back exactly, as `description` does, minus ".0".
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        isFirst = false
    }

    /// A `Duration` as Swift's `Codable` writes it: `[high, low]`, the two halves of its attoseconds as a
    /// 128-bit integer.
    public mutating func write(_ value: Duration) {
        let (seconds, attoseconds) = value.components
        let total = Int128(seconds) &* 1_000_000_000_000_000_000 &+ Int128(attoseconds)
        beginArray()
        element()
        write(Int64(truncatingIfNeeded: total >> 64))
        element()
        write(UInt64(truncatingIfNeeded: total))
        endArray()
    }

    public mutating func writeNull() {
        bytes.append(contentsOf: "null".utf8)
        isFirst = false
    }
}
