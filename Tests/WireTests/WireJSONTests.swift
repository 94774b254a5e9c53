import Foundation
import Testing
import WireJSON

@testable import Wire

struct JSONSample: Codable, Equatable, Sendable {
    var name: String
    var count: Int
    var ratio: Double
    var wait: Duration

    static let coder = WireJSONCoder(
        JSONSample.self,
        write: { sample, writer in
            writer.beginObject()
            writer.key("count")
            writer.write(sample.count)
            writer.key("name")
            writer.write(sample.name)
            writer.key("ratio")
            writer.write(sample.ratio)
            writer.key("wait")
            writer.write(sample.wait)
            writer.endObject()
        },
        read: { reader throws(WireJSONReader.Mismatch) in
            var name: String?
            var count: Int?
            var ratio: Double?
            var wait: Duration?
            try reader.readObject { reader, key throws(WireJSONReader.Mismatch) in
                switch key {
                case "count": try WireJSONReader.set(&count, try reader.readInt())
                case "name": try WireJSONReader.set(&name, try reader.readString())
                case "ratio": try WireJSONReader.set(&ratio, try reader.readDouble())
                case "wait": try WireJSONReader.set(&wait, try reader.readDuration())
                default: throw WireJSONReader.Mismatch()
                }
            }
            guard let name, let count, let ratio, let wait else { throw WireJSONReader.Mismatch() }
            return JSONSample(name: name, count: count, ratio: ratio, wait: wait)
        }
    )
}

@Suite("JSON coding of arguments and results")
struct WireJSONTests {
    static func foundation<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    @Test(
        "the writer writes strings, numbers and durations as Foundation does",
        arguments: [
            JSONSample(name: "plain", count: 0, ratio: 0.71, wait: .seconds(95)),
            JSONSample(
                name: "a/b\"c\\d\n\t\r\u{8}\u{C}\u{1}\u{1F}\u{7F}é🚀",
                count: Int.min,
                ratio: 1e20,
                wait: .seconds(-3)
            ),
            JSONSample(name: "", count: Int.max, ratio: -0.0, wait: .nanoseconds(1)),
            JSONSample(name: "x", count: -1, ratio: 5e-324, wait: .milliseconds(-1500)),
            JSONSample(name: "y", count: 42, ratio: 100, wait: .seconds(Int64.max / 4)),
        ]
    )
    func writesAsFoundation(sample: JSONSample) throws {
        let coding = WireJSONCoding([JSONSample.coder])
        let bytes = try coding.encode(sample)
        #expect(bytes == (try Self.foundation(sample)))
        var reader = WireJSONReader(bytes)
        #expect(try reader.readDocument(JSONSample.coder.read) as? JSONSample == sample)
        #expect(try coding.decode(JSONSample.self, from: bytes) == sample)
    }

    @Test("a document the hand-written reader declines is still read by Foundation")
    func fallsBackOnDecline() throws {
        let coding = WireJSONCoding([JSONSample.coder])
        let document = Array(#"{"count":2.0,"name":"n","ratio":1,"wait":[0,5],"unknown":true}"#.utf8)
        var reader = WireJSONReader(document)
        #expect(throws: WireJSONReader.Mismatch.self) { try reader.readDocument(JSONSample.coder.read) }
        let expected = JSONSample(
            name: "n",
            count: 2,
            ratio: 1,
            wait: .init(secondsComponent: 0, attosecondsComponent: 5)
        )
        #expect(try coding.decode(JSONSample.self, from: document) == expected)
    }

    @Test("a document neither reader accepts fails with Foundation's error")
    func failsAsFoundation() {
        let coding = WireJSONCoding([JSONSample.coder])
        #expect(throws: DecodingError.self) {
            try coding.decode(JSONSample.self, from: Array(#"{"count":"two"}"#.utf8))
        }
    }

    @Test("a value with no JSON form fails with Foundation's error")
    func nonFiniteFallsBack() {
        let coding = WireJSONCoding([JSONSample.coder])
        #expect(throws: EncodingError.self) {
            try coding.encode(JSONSample(name: "n", count: 1, ratio: .nan, wait: .zero))
        }
    }

    @Test("types without a hand-written coder are coded by Foundation")
    func unregisteredTypes() throws {
        let coding = WireJSONCoding([JSONSample.coder])
        let value = ["b": 2, "a": 1]
        let bytes = try coding.encode(value)
        #expect(bytes == Array(#"{"a":1,"b":2}"#.utf8))
        #expect(try coding.decode([String: Int].self, from: bytes) == value)
    }
}
