// libFuzzer target for the JSON reader and writer of the hand-written coders (scripts/fuzz builds and runs it).
//
// Compiled together with Sources/WireJSON into one module, against Foundation's coders, which are the reference:
// a hand-written reader may accept only documents `JSONDecoder` reads to the same value, and may decline any
// document (it then goes to `JSONDecoder`, so a decline is never a disagreement). Properties checked on every
// input:
// - reading never traps;
// - a document the reader accepts, read value by value through its typed calls (`readNull`, `readBool`,
//   `readString`, `readInt`, `readInt64`, `readUInt64`, `readDouble`, `readDuration`, `readArray`,
//   `readObject`, a repeated key declined with `WireJSONReader.set` as the coders do), `JSONDecoder` reads too,
//   and every reading the reader gave it `JSONDecoder` gives the same value. "Same" is strict: strings by their
//   UTF-8 bytes (Swift's `==` would equate canonically equivalent ones), doubles by their bit pattern (so -0 is
//   not 0), integers exactly;
// - values made from the input bytes (strings, doubles, integers, durations) the writer writes to exactly the
//   bytes `JSONEncoder` with sorted keys writes, and the reader reads them back to the same values.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkReader(bytes)
    checkWriter(bytes)
    return 0
}

// MARK: Reader against JSONDecoder

/// Every reading the reader gave one number.
struct NumberReadings: CustomStringConvertible {
    var int: Int?
    var int64: Int64?
    var uint64: UInt64?
    var double: Double?

    var isEmpty: Bool { int == nil && int64 == nil && uint64 == nil && double == nil }

    var description: String {
        "int \(int.map(String.init) ?? "-") int64 \(int64.map(String.init) ?? "-") "
            + "uint64 \(uint64.map(String.init) ?? "-") double \(double.map { "\($0) (\($0.bitPattern))" } ?? "-")"
    }
}

/// A document as the reader read it.
indirect enum ReaderValue {
    case null
    case bool(Bool)
    case string(String)
    case number(NumberReadings)
    /// The elements, and the array as a `Duration` when `readDuration` accepts it.
    case array([ReaderValue], duration: Duration?)
    case object([String: ReaderValue])
}

/// Deeper documents are declined here (the hand-written coders have a fixed, shallow shape).
let maximumDepth = 64

func readValue(_ reader: inout WireJSONReader, depth: Int) throws(WireJSONReader.Mismatch) -> ReaderValue {
    guard depth < maximumDepth else { throw WireJSONReader.Mismatch() }
    if reader.readNull() { return .null }
    var attempt = reader
    if let value = try? attempt.readBool() {
        reader = attempt
        return .bool(value)
    }
    attempt = reader
    if let value = try? attempt.readString() {
        reader = attempt
        return .string(value)
    }
    var readings = NumberReadings()
    var afterNumber: WireJSONReader?
    attempt = reader
    if let value = try? attempt.readInt() {
        readings.int = value
        afterNumber = attempt
    }
    attempt = reader
    if let value = try? attempt.readInt64() {
        readings.int64 = value
        afterNumber = attempt
    }
    attempt = reader
    if let value = try? attempt.readUInt64() {
        readings.uint64 = value
        afterNumber = attempt
    }
    attempt = reader
    if let value = try? attempt.readDouble() {
        readings.double = value
        afterNumber = attempt
    }
    if let afterNumber {
        reader = afterNumber
        return .number(readings)
    }
    attempt = reader
    let duration = try? attempt.readDuration()
    attempt = reader
    var elements: [ReaderValue] = []
    if (try? attempt.readArray({ reader throws(WireJSONReader.Mismatch) in
        elements.append(try readValue(&reader, depth: depth + 1))
    })) != nil {
        reader = attempt
        return .array(elements, duration: duration)
    }
    var members: [String: ReaderValue] = [:]
    try reader.readObject { reader, key throws(WireJSONReader.Mismatch) in
        var slot = members[key]
        try WireJSONReader.set(&slot, try readValue(&reader, depth: depth + 1))
        members[key] = slot
    }
    return .object(members)
}

/// A document as `JSONDecoder` reads it, with every reading of a scalar that it accepts.
struct FoundationValue: Decodable {
    var isNull = false
    var bool: Bool?
    var string: String?
    var number = NumberReadings()
    var array: [FoundationValue]?
    var duration: Duration?
    var object: [String: FoundationValue]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            isNull = true
            return
        }
        bool = try? container.decode(Bool.self)
        string = try? container.decode(String.self)
        number.int = try? container.decode(Int.self)
        number.int64 = try? container.decode(Int64.self)
        number.uint64 = try? container.decode(UInt64.self)
        number.double = try? container.decode(Double.self)
        array = try? container.decode([FoundationValue].self)
        duration = try? container.decode(Duration.self)
        object = try? container.decode([String: FoundationValue].self)
        guard bool != nil || string != nil || !number.isEmpty || array != nil || object != nil else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "no reading accepted")
        }
    }
}

func checkReader(_ bytes: [UInt8]) {
    var reader = WireJSONReader(bytes)
    guard
        let value = try? reader.readDocument({ reader throws(WireJSONReader.Mismatch) in
            try readValue(&reader, depth: 0)
        })
    else { return }
    let foundation: FoundationValue
    do {
        foundation = try JSONDecoder().decode(FoundationValue.self, from: Data(bytes))
    } catch {
        fail("the reader accepts a document JSONDecoder refuses (\(error))", bytes)
    }
    compare(value, foundation, path: "$", bytes)
}

func compare(_ value: ReaderValue, _ foundation: FoundationValue, path: String, _ bytes: [UInt8]) {
    func disagree(_ what: String) -> Never {
        fail("at \(path): \(what)", bytes)
    }
    switch value {
    case .null:
        guard foundation.isNull else { disagree("the reader reads null, JSONDecoder does not") }
    case .bool(let bool):
        guard foundation.bool == bool else {
            disagree("the reader reads \(bool), JSONDecoder \(String(describing: foundation.bool))")
        }
    case .string(let string):
        guard let other = foundation.string, other.utf8.elementsEqual(string.utf8) else {
            disagree(
                "the reader reads \(Array(string.utf8)), JSONDecoder \(foundation.string.map { Array($0.utf8) } ?? [])"
            )
        }
    case .number(let readings):
        let other = foundation.number
        let same =
            (readings.int == nil || readings.int == other.int)
            && (readings.int64 == nil || readings.int64 == other.int64)
            && (readings.uint64 == nil || readings.uint64 == other.uint64)
            && (readings.double == nil || readings.double?.bitPattern == other.double?.bitPattern)
        guard same else { disagree("the reader reads \(readings), JSONDecoder \(other)") }
    case .array(let elements, let duration):
        guard let others = foundation.array, others.count == elements.count else {
            disagree(
                "the reader reads an array of \(elements.count), JSONDecoder \(String(describing: foundation.array?.count))"
            )
        }
        for (index, (element, other)) in zip(elements, others).enumerated() {
            compare(element, other, path: "\(path)[\(index)]", bytes)
        }
        if let duration, duration != foundation.duration {
            disagree("the reader reads \(duration), JSONDecoder \(String(describing: foundation.duration))")
        }
    case .object(let members):
        guard let others = foundation.object, others.count == members.count else {
            disagree(
                "the reader reads \(members.count) members, JSONDecoder \(String(describing: foundation.object?.count))"
            )
        }
        for (key, member) in members {
            guard let other = others[key] else { disagree("JSONDecoder has no member \(Array(key.utf8))") }
            compare(member, other, path: "\(path).\(key)", bytes)
        }
    }
}

// MARK: Writer against JSONEncoder

/// Values of every type the writer writes, made from the input bytes: the bytes as a string (bad UTF-8 repaired
/// as `String` does), and each 8-byte group as a double, an integer and an unsigned integer, each 16 as a duration.
func checkWriter(_ bytes: [UInt8]) {
    let string = String(decoding: bytes, as: UTF8.self)
    var words: [UInt64] = []
    var index = 0
    while index + 8 <= bytes.count {
        words.append(bytes[index..<index + 8].reduce(0) { $0 << 8 | UInt64($1) })
        index += 8
    }
    let doubles = words.map { Double(bitPattern: $0) }.filter(\.isFinite)
    let integers = words.map { Int64(bitPattern: $0) }
    let durations = stride(from: 0, to: words.count - 1, by: 2).map {
        Duration(
            secondsComponent: Int64(bitPattern: words[$0]),
            attosecondsComponent: Int64(bitPattern: words[$0 + 1]) % 1_000_000_000_000_000_000
        )
    }

    var writer = WireJSONWriter()
    writer.beginArray()
    writer.element()
    writer.write(string)
    writer.endArray()
    expectSame(writer, [string], bytes) { reader throws(WireJSONReader.Mismatch) in
        var strings: [String] = []
        try reader.readArray { reader throws(WireJSONReader.Mismatch) in strings.append(try reader.readString()) }
        return strings.count == 1 && strings[0].utf8.elementsEqual(string.utf8)
    }

    writer = WireJSONWriter()
    writer.beginArray()
    for double in doubles {
        writer.element()
        writer.write(double)
    }
    writer.endArray()
    expectSame(writer, doubles, bytes) { reader throws(WireJSONReader.Mismatch) in
        var read: [Double] = []
        try reader.readArray { reader throws(WireJSONReader.Mismatch) in read.append(try reader.readDouble()) }
        return read.map(\.bitPattern) == doubles.map(\.bitPattern)
    }

    writer = WireJSONWriter()
    writer.beginObject()
    writer.key("signed")
    writer.beginArray()
    for integer in integers {
        writer.element()
        writer.write(integer)
    }
    writer.endArray()
    writer.key("unsigned")
    writer.beginArray()
    for word in words {
        writer.element()
        writer.write(word)
    }
    writer.endArray()
    writer.endObject()
    expectSame(writer, Integers(signed: integers, unsigned: words), bytes) { reader throws(WireJSONReader.Mismatch) in
        var signed: [Int64]?
        var unsigned: [UInt64]?
        try reader.readObject { reader, key throws(WireJSONReader.Mismatch) in
            var values: [Int64] = []
            var words: [UInt64] = []
            switch key {
            case "signed":
                try reader.readArray { reader throws(WireJSONReader.Mismatch) in values.append(try reader.readInt64()) }
                try WireJSONReader.set(&signed, values)
            case "unsigned":
                try reader.readArray { reader throws(WireJSONReader.Mismatch) in words.append(try reader.readUInt64()) }
                try WireJSONReader.set(&unsigned, words)
            default: throw WireJSONReader.Mismatch()
            }
        }
        return signed == integers && unsigned == words
    }

    writer = WireJSONWriter()
    writer.beginArray()
    for duration in durations {
        writer.element()
        writer.write(duration)
    }
    writer.endArray()
    expectSame(writer, durations, bytes) { reader throws(WireJSONReader.Mismatch) in
        var read: [Duration] = []
        try reader.readArray { reader throws(WireJSONReader.Mismatch) in read.append(try reader.readDuration()) }
        return read == durations
    }
}

struct Integers: Encodable {
    var signed: [Int64]
    var unsigned: [UInt64]
}

/// The writer wrote `value` as `JSONEncoder` does, and `readBack` finds the same value in those bytes.
func expectSame<Value: Encodable>(
    _ writer: WireJSONWriter,
    _ value: Value,
    _ input: [UInt8],
    readBack: (inout WireJSONReader) throws(WireJSONReader.Mismatch) -> Bool
) {
    guard !writer.failed else { fail("the writer declined a finite value", input) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let expected = try? encoder.encode(value) else {
        fail("JSONEncoder refuses a value the writer wrote: \(String(decoding: writer.bytes, as: UTF8.self))", input)
    }
    guard writer.bytes.elementsEqual(expected) else {
        fail(
            "the writer wrote \(String(decoding: writer.bytes, as: UTF8.self)), "
                + "JSONEncoder \(String(decoding: expected, as: UTF8.self))",
            input
        )
    }
    var reader = WireJSONReader(writer.bytes)
    guard (try? reader.readDocument(readBack)) == true else {
        fail("the reader does not read back \(String(decoding: writer.bytes, as: UTF8.self))", input)
    }
}

func fail(_ message: String, _ input: [UInt8]) -> Never {
    fatalError("\(message)\ninput: \(String(decoding: input, as: UTF8.self))")
}
