import Foundation
import KubernetesClient
import Testing

@Suite("Quantity")
struct QuantityTests {
    @Test(
        "cpu quantities read as millicores, rounded up",
        arguments: [
            ("250m", 250), ("1", 1000), ("1.5", 1500), ("0.1", 100), ("2k", 2_000_000), ("100u", 1), ("1e3", 1_000_000),
            ("5E-3", 5), ("0.0001", 1), ("+3", 3000), ("1n", 1),
        ] as [(String, Int64)]
    )
    func cpu(text: String, millicores: Int64) throws {
        #expect(try Quantity(parsing: text).milliValue == millicores)
    }

    @Test(
        "memory quantities read as bytes",
        arguments: [
            ("128974848", 128_974_848), ("129e6", 129_000_000), ("129M", 129_000_000), ("123Mi", 128_974_848),
            ("1Ki", 1024), ("1.5Gi", 1_610_612_736), ("2Ti", 2_199_023_255_552), ("1G", 1_000_000_000),
            ("500m", 1), ("1k", 1000), ("0.5Ki", 512),
        ] as [(String, Int64)]
    )
    func memory(text: String, bytes: Int64) throws {
        #expect(try Quantity(parsing: text).value == bytes)
    }

    @Test(
        "text that is not a quantity is refused",
        arguments: ["", "Mi", "1.2.3", "1Kb", "1e", "12 Mi", "1mi", "abc", "1Ki1"]
    )
    func malformed(text: String) {
        #expect(throws: Quantity.ParseError.self) { try Quantity(parsing: text) }
    }

    @Test("a quantity decodes from JSON and keeps its text")
    func decodes() throws {
        let quantity = try JSONDecoder().decode([String: Quantity].self, from: Data(#"{"cpu":"1500m"}"#.utf8))
        #expect(quantity["cpu"]?.milliValue == 1500)
        #expect(quantity["cpu"]?.text == "1500m")
    }
}
