import Foundation
import Testing

@testable import AWSClients

@Suite("AttributeValue JSON encoding")
struct AttributeValueTests {
    func json(_ value: AttributeValue) throws -> String {
        String(decoding: try AWSClient.jsonEncoder.encode(value), as: UTF8.self)
    }

    @Test(
        "each type encodes exactly as DynamoDB's JSON protocol",
        arguments: [
            (AttributeValue.string("a/b \"q\""), #"{"S":"a/b \"q\""}"#),
            (.number("-1.5E+3"), #"{"N":"-1.5E+3"}"#),
            (.int(42), #"{"N":"42"}"#),
            (.binary(Data([0, 1, 2, 255])), #"{"B":"AAEC/w=="}"#),
            (.bool(true), #"{"BOOL":true}"#),
            (.null, #"{"NULL":true}"#),
            (.list([.string("x"), .null]), #"{"L":[{"S":"x"},{"NULL":true}]}"#),
            (.map(["b": .int(1), "a": .bool(false)]), #"{"M":{"a":{"BOOL":false},"b":{"N":"1"}}}"#),
            (.stringSet(["x", "y"]), #"{"SS":["x","y"]}"#),
            (.numberSet(["1", "2.5"]), #"{"NS":["1","2.5"]}"#),
            (.binarySet([Data([1]), Data()]), #"{"BS":["AQ==",""]}"#),
        ]
    )
    func exactEncoding(value: AttributeValue, expected: String) throws {
        #expect(try json(value) == expected)
        #expect(try JSONDecoder().decode(AttributeValue.self, from: Data(expected.utf8)) == value)
    }

    @Test("a value with two type keys, an unknown key, bad base64 or NULL false is rejected")
    func rejectsMalformed() {
        for text in [#"{"S":"a","N":"1"}"#, #"{"X":"a"}"#, #"{"B":"***"}"#, #"{"NULL":false}"#, #"{}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributeValue.self, from: Data(text.utf8)) }
        }
    }

    @Test("request inputs encode with DynamoDB's member names and leave out unset options")
    func inputEncoding() throws {
        let input = DynamoDB.GetItemInput(tableName: "leases", key: ["pk": .string("fleet")], consistentRead: true)
        let text = String(decoding: try AWSClient.jsonEncoder.encode(input), as: UTF8.self)
        #expect(text == #"{"ConsistentRead":true,"Key":{"pk":{"S":"fleet"}},"TableName":"leases"}"#)
    }
}
