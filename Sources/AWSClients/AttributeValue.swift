import Foundation

/// A DynamoDB attribute value, one case per type of the wire format, encoded exactly as DynamoDB's JSON
/// protocol does: `{"S":"x"}`, `{"N":"1.5"}` (numbers as strings, so no precision is lost), `{"B":"<base64>"}`,
/// `{"BOOL":true}`, `{"NULL":true}`, `{"L":[...]}`, `{"M":{...}}`, `{"SS":[...]}`, `{"NS":[...]}`, `{"BS":[...]}`.
public indirect enum AttributeValue: Sendable, Hashable {
    case string(String)
    /// A number in DynamoDB's decimal text form, e.g. `"42"`, `"-1.5E+3"`.
    case number(String)
    case binary(Data)
    case bool(Bool)
    case null
    case list([AttributeValue])
    case map([String: AttributeValue])
    case stringSet([String])
    case numberSet([String])
    case binarySet([Data])

    /// A number attribute from an integer.
    public static func int<I: BinaryInteger>(_ value: I) -> AttributeValue { .number(String(value)) }

    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var numberValue: String? { if case .number(let v) = self { v } else { nil } }
    public var intValue: Int? { numberValue.flatMap { Int($0) } }
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    public var binaryValue: Data? { if case .binary(let v) = self { v } else { nil } }
    public var mapValue: [String: AttributeValue]? { if case .map(let v) = self { v } else { nil } }
    public var listValue: [AttributeValue]? { if case .list(let v) = self { v } else { nil } }
}

extension AttributeValue: Codable {
    private enum Key: String, CodingKey {
        case S, N, B, BOOL, NULL, L, M, SS, NS, BS
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: container.codingPath,
                    debugDescription:
                        "an attribute value has exactly one type key, found \(container.allKeys.map(\.stringValue))"
                )
            )
        }
        switch key {
        case .S: self = .string(try container.decode(String.self, forKey: .S))
        case .N: self = .number(try container.decode(String.self, forKey: .N))
        case .B: self = .binary(try Self.base64(try container.decode(String.self, forKey: .B), container.codingPath))
        case .BOOL: self = .bool(try container.decode(Bool.self, forKey: .BOOL))
        case .NULL:
            guard try container.decode(Bool.self, forKey: .NULL) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .NULL,
                    in: container,
                    debugDescription: "NULL must be true"
                )
            }
            self = .null
        case .L: self = .list(try container.decode([AttributeValue].self, forKey: .L))
        case .M: self = .map(try container.decode([String: AttributeValue].self, forKey: .M))
        case .SS: self = .stringSet(try container.decode([String].self, forKey: .SS))
        case .NS: self = .numberSet(try container.decode([String].self, forKey: .NS))
        case .BS:
            self = .binarySet(
                try container.decode([String].self, forKey: .BS).map { try Self.base64($0, container.codingPath) }
            )
        }
    }

    private static func base64(_ text: String, _ path: [any CodingKey]) throws -> Data {
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "binary value is not base64"))
        }
        return data
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .string(let v): try container.encode(v, forKey: .S)
        case .number(let v): try container.encode(v, forKey: .N)
        case .binary(let v): try container.encode(v.base64EncodedString(), forKey: .B)
        case .bool(let v): try container.encode(v, forKey: .BOOL)
        case .null: try container.encode(true, forKey: .NULL)
        case .list(let v): try container.encode(v, forKey: .L)
        case .map(let v): try container.encode(v, forKey: .M)
        case .stringSet(let v): try container.encode(v, forKey: .SS)
        case .numberSet(let v): try container.encode(v, forKey: .NS)
        case .binarySet(let v): try container.encode(v.map { $0.base64EncodedString() }, forKey: .BS)
        }
    }
}

/// An item: attribute names to values.
public typealias DynamoDBItem = [String: AttributeValue]
