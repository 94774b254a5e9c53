import Foundation
import WireJSON

/// A hand-written JSON coding of one frequently sent type, used for its arguments and return values instead of
/// Foundation's `Codable` coders, which cost more than the network round trip for a 2 KB report. It must write
/// exactly the bytes `JSONEncoder` with `.sortedKeys` writes (docs/wire.md §4), and its reader may accept only
/// documents `JSONDecoder` reads to the same value: anything else it declines with `WireJSONReader.Mismatch`,
/// and the document then goes to `JSONDecoder`, which reads it or gives the error. Register coders with
/// `WireActorSystem.Configuration.jsonCoders`.
public struct WireJSONCoder: Sendable {
    let type: ObjectIdentifier
    let write: @Sendable (Any, inout WireJSONWriter) -> Bool
    let read: @Sendable (inout WireJSONReader) throws(WireJSONReader.Mismatch) -> Any

    public init<Value: Codable & Sendable>(
        _ type: Value.Type,
        write: @escaping @Sendable (Value, inout WireJSONWriter) -> Void,
        read: @escaping @Sendable (inout WireJSONReader) throws(WireJSONReader.Mismatch) -> Value
    ) {
        self.type = ObjectIdentifier(type)
        self.write = { value, writer in
            guard let value = value as? Value else { return false }
            write(value, &writer)
            return true
        }
        self.read = { reader throws(WireJSONReader.Mismatch) in try read(&reader) }
    }
}

/// The JSON coding of arguments, return values and error details on one actor system: the registered
/// hand-written coders for their types, Foundation's coders (sorted keys) for every other type and for any
/// document a hand-written reader declines.
struct WireJSONCoding: Sendable {
    private let coders: [ObjectIdentifier: WireJSONCoder]

    init(_ coders: [WireJSONCoder]) {
        var table: [ObjectIdentifier: WireJSONCoder] = [:]
        for coder in coders { table[coder.type] = coder }
        self.coders = table
    }

    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        if let coder = coders[ObjectIdentifier(Value.self)] {
            var writer = WireJSONWriter()
            if coder.write(value, &writer), !writer.failed { return writer.bytes }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        if let coder = coders[ObjectIdentifier(Value.self)] {
            var reader = WireJSONReader(bytes)
            if let value = try? reader.readDocument(coder.read) as? Value { return value }
        }
        return try JSONDecoder().decode(Value.self, from: Data(bytes))
    }
}
