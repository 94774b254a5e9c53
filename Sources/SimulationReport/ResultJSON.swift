#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The result as JSON, the `--json` output: keys sorted, pretty-printed, each number in Swift's shortest form
/// that reads back to the same value, so the same result always gives the same bytes and decodes to an equal
/// value. A value that is not finite cannot be written as JSON and is refused.
public enum ResultJSON {
    public static func encode(_ result: SimulationResult) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(result))
    }

    public static func decode(_ bytes: [UInt8]) throws -> SimulationResult {
        try JSONDecoder().decode(SimulationResult.self, from: Data(bytes))
    }
}
