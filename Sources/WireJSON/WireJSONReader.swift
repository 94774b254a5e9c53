// WireJSON: the JSON reader and writer behind the hand-written coders of the types sent most often (docs/wire.md
// §4). Standard library only, no dependencies, so `scripts/fuzz` compiles it on its own and checks the reader
// against Foundation's `JSONDecoder` and the writer against `JSONEncoder` (Fuzz/JSONReader). The coders that
// use it and the Foundation fallback live in Wire (`WireJSONCoder`); the report's coders in FleetAPI.

/// Reads the JSON of a registered type without Foundation. It is strict: any document it is not sure to read
/// as `JSONDecoder` would (unknown or repeated keys, a number in a form other than the plain one, an escape it
/// does not expect, bad UTF-8) makes it throw `Mismatch`, and the document goes to `JSONDecoder` instead.
public struct WireJSONReader {
    /// The hand-written reader declines this document; it is not an error in itself.
    public struct Mismatch: Error, Sendable {
        public init() {}
    }

    private let bytes: [UInt8]
    private var index = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// One whole document: the value, then nothing but whitespace.
    public mutating func readDocument<Value>(
        _ read: (inout WireJSONReader) throws(Mismatch) -> Value
    ) throws(Mismatch) -> Value {
        let value = try read(&self)
        skipWhitespace()
        guard index == bytes.count else { throw Mismatch() }
        return value
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws(Mismatch) {
        guard consume(byte) else { throw Mismatch() }
    }

    /// Reads an object, calling `member` with each key; `member` reads the value or throws for a key it does
    /// not know.
    public mutating func readObject(
        _ member: (inout WireJSONReader, String) throws(Mismatch) -> Void
    ) throws(Mismatch) {
        try expect(UInt8(ascii: "{"))
        if consume(UInt8(ascii: "}")) { return }
        repeat {
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    /// Reads an array, calling `element` for each of its values.
    public mutating func readArray(_ element: (inout WireJSONReader) throws(Mismatch) -> Void) throws(Mismatch) {
        try expect(UInt8(ascii: "["))
        if consume(UInt8(ascii: "]")) { return }
        repeat {
            try element(&self)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    /// Stores a member's value, refusing a key that came twice (Foundation's choice between the two is not
    /// worth guessing).
    public static func set<Value>(_ slot: inout Value?, _ value: Value) throws(Mismatch) {
        guard slot == nil else { throw Mismatch() }
        slot = value
    }

    /// Whether the next value is `null`, which it then consumes.
    public mutating func readNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), bytes[index...].starts(with: "null".utf8) else { return false }
        index += 4
        return true
    }

    public mutating func readBool() throws(Mismatch) -> Bool {
        _ = peek()
        if bytes[index...].starts(with: "true".utf8) {
            index += 4
            return true
        }
        if bytes[index...].starts(with: "false".utf8) {
            index += 5
            return false
        }
        throw Mismatch()
    }

    public mutating func readString() throws(Mismatch) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        var isASCII = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try Self.string(bytes[start..<index], isASCII: isASCII)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try readEscapedString(from: start) }
            guard byte >= 0x20 else { throw Mismatch() }
            isASCII = isASCII && byte < 0x80
            index += 1
        }
        throw Mismatch()
    }

    /// The text of UTF-8 bytes, declined when they are not valid UTF-8 (which Foundation refuses).
    private static func string(_ utf8: ArraySlice<UInt8>, isASCII: Bool) throws(Mismatch) -> String {
        let text = utf8.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
        // Decoding repairs bad sequences with U+FFFD, which changes the bytes; ASCII needs no check.
        guard isASCII || text.utf8.elementsEqual(utf8) else { throw Mismatch() }
        return text
    }

    private mutating func readEscapedString(from start: Int) throws(Mismatch) -> String {
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try Self.string(utf8[...], isASCII: false)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw Mismatch() }
                let letter = bytes[index]
                index += 1
                switch letter {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(letter)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    // Surrogate pairs and the like are rare enough to leave to Foundation.
                    let code = try readHex4()
                    guard let scalar = Unicode.Scalar(code) else { throw Mismatch() }
                    utf8.append(contentsOf: String(scalar).utf8)
                default: throw Mismatch()
                }
            case 0..<0x20:
                throw Mismatch()
            default:
                utf8.append(byte)
            }
        }
        throw Mismatch()
    }

    private mutating func readHex4() throws(Mismatch) -> UInt16 {
        guard index + 4 <= bytes.count else { throw Mismatch() }
        var value: UInt16 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Mismatch()
            }
            value = value << 4 | UInt16(digit)
        }
        index += 4
        return value
    }

    /// A plain integer: an optional minus, then digits without a leading zero. Fractions and exponents, which
    /// Foundation also accepts for integers, are declined.
    private mutating func readInteger() throws(Mismatch) -> (negative: Bool, magnitude: UInt64) {
        _ = peek()
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var magnitude: UInt64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw Mismatch() }
            magnitude = sum
            index += 1
        }
        let count = index - start
        guard count > 0, count == 1 || bytes[start] != UInt8(ascii: "0") else { throw Mismatch() }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): throw Mismatch()
            default: break
            }
        }
        return (negative, magnitude)
    }

    public mutating func readInt64() throws(Mismatch) -> Int64 {
        let (negative, magnitude) = try readInteger()
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw Mismatch() }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw Mismatch() }
        return Int64(magnitude)
    }

    public mutating func readInt() throws(Mismatch) -> Int {
        guard let value = Int(exactly: try readInt64()) else { throw Mismatch() }
        return value
    }

    public mutating func readUInt64() throws(Mismatch) -> UInt64 {
        let (negative, magnitude) = try readInteger()
        guard !negative else { throw Mismatch() }
        return magnitude
    }

    /// A number in JSON's grammar, read as Swift reads its text (correctly rounded); out of range is declined.
    public mutating func readDouble() throws(Mismatch) -> Double {
        _ = peek()
        let start = index
        func digits(_ reader: inout WireJSONReader) -> Int {
            let from = reader.index
            while reader.index < reader.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index])
            {
                reader.index += 1
            }
            return reader.index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw Mismatch()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw Mismatch() }
        }
        let mantissaEnd = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw Mismatch() }
        }
        let text = bytes[start..<index].withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
        guard let value = Double(text), value.isFinite else { throw Mismatch() }
        // A non-zero number that underflows to zero is refused by Foundation, not read as 0.
        if value == 0,
            bytes[start..<mantissaEnd].contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) })
        {
            throw Mismatch()
        }
        return value
    }

    /// A `Duration` as Swift's `Codable` writes it: `[high, low]` of its attoseconds as a 128-bit integer.
    public mutating func readDuration() throws(Mismatch) -> Duration {
        try expect(UInt8(ascii: "["))
        let high = try readInt64()
        try expect(UInt8(ascii: ","))
        let low = try readUInt64()
        try expect(UInt8(ascii: "]"))
        let total = Int128(high) << 64 | Int128(low)
        let (seconds, attoseconds) = total.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
        guard let seconds = Int64(exactly: seconds), let attoseconds = Int64(exactly: attoseconds) else {
            throw Mismatch()
        }
        return Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
    }
}
