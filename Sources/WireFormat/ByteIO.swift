/// Reads big-endian integers and length-prefixed fields from a payload, checking every length against the
/// bytes that remain before anything is allocated.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    private func need(_ count: Int, _ field: StaticString) throws(WireFormatError) {
        guard count >= 0, remaining >= count else {
            throw WireFormatError(.truncated, offset: offset, "\(field) needs \(count) bytes, \(remaining) remain")
        }
    }

    mutating func readUInt8(_ field: StaticString) throws(WireFormatError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16(_ field: StaticString) throws(WireFormatError) -> UInt16 {
        try need(2, field)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32(_ field: StaticString) throws(WireFormatError) -> UInt32 {
        try need(4, field)
        var value: UInt32 = 0
        for index in offset..<(offset + 4) { value = value << 8 | UInt32(bytes[index]) }
        offset += 4
        return value
    }

    mutating func readUInt64(_ field: StaticString) throws(WireFormatError) -> UInt64 {
        try need(8, field)
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return value
    }

    mutating func readFixed(_ count: Int, _ field: StaticString) throws(WireFormatError) -> [UInt8] {
        try need(count, field)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A u16 length then that many UTF-8 bytes, the length within `minLength...maxLength`.
    mutating func readString(
        _ field: StaticString,
        minLength: Int = 0,
        maxLength: Int = Int(UInt16.max)
    ) throws(WireFormatError) -> String {
        let start = offset
        let length = Int(try readUInt16(field))
        guard length >= minLength, length <= maxLength else {
            throw WireFormatError(
                .invalidString,
                offset: start,
                "\(field) is \(length) bytes, allowed \(minLength)...\(maxLength)"
            )
        }
        try need(length, field)
        let slice = bytes[offset..<(offset + length)]
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw WireFormatError(.invalidString, offset: offset, "\(field) is not valid UTF-8")
        }
        offset += length
        return string
    }

    /// A u32 length then that many bytes; the length is checked against what remains first.
    mutating func readBytes(_ field: StaticString) throws(WireFormatError) -> [UInt8] {
        let length = try readUInt32(field)
        guard UInt64(length) <= UInt64(remaining) else {
            throw WireFormatError(
                .truncated,
                offset: offset - 4,
                "\(field) declares \(length) bytes, \(remaining) remain"
            )
        }
        return try readFixed(Int(length), field)
    }
}

/// Appends big-endian integers and length-prefixed fields; the mirror of `ByteReader`.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func write(_ value: UInt8) { bytes.append(value) }
    mutating func write(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
    mutating func write(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
    mutating func write(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
    mutating func write(fixed: [UInt8]) { bytes.append(contentsOf: fixed) }
    /// Callers validate lengths before encoding (`WireMessage.validate()`); a longer string is cut at the limit
    /// so encoding itself never traps.
    mutating func write(string: String) {
        let utf8 = Array(string.utf8.prefix(Int(UInt16.max)))
        write(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func write(lengthPrefixed data: [UInt8]) {
        write(UInt32(truncatingIfNeeded: data.count))
        bytes.append(contentsOf: data)
    }
}
