import Foundation
import SimulationReport
import Testing

@Suite("result JSON")
struct ResultJSONTests {
    @Test("a week's result round-trips to an equal value and encodes to the same bytes every time")
    func roundTrip() throws {
        let result = SyntheticResult().make()
        let bytes = try ResultJSON.encode(result)
        #expect(try JSONDecoder().decode(SimulationResult.self, from: Data(bytes)) == result)
        #expect(try ResultJSON.decode(bytes) == result)
        #expect(try ResultJSON.encode(SyntheticResult().make()) == bytes)
        #expect(try ResultJSON.encode(try ResultJSON.decode(bytes)) == bytes)
    }

    @Test("keys are sorted and the output is pretty-printed")
    func sortedAndPretty() throws {
        var options = SyntheticResult(days: 1)
        options.policies = ["ballast"]
        options.clusters = ["web"]
        let text = String(decoding: try ResultJSON.encode(options.make()), as: UTF8.self)
        let topLevel = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map {
            $0.dropFirst(3).prefix { $0 != "\"" }
        }
        #expect(topLevel == topLevel.sorted())
        #expect(topLevel.first == "clusters")
        #expect(text.contains("\n  \"seed\" : 42"))
    }

    @Test("a value that is not finite is refused rather than written")
    func nonFinite() {
        var result = SyntheticResult(days: 1).make()
        result.policies[0].summary.availability = .nan
        #expect(throws: EncodingError.self) { try ResultJSON.encode(result) }
    }
}
