import Testing

@testable import Cost

@Suite("Budget water-filling")
struct WaterFillTests {
    @Test("shares by weight, caps those who want less, and hands their rest to the others")
    func waterFilling() {
        #expect(waterFill(wants: [10, 10], weights: [1, 1], amount: 10) == [5, 5])
        #expect(waterFill(wants: [1, 10, 10], weights: [1, 1, 2], amount: 10) == [1, 3, 6])
        #expect(waterFill(wants: [2, 3], weights: [1, 1], amount: 100) == [2, 3])
        #expect(waterFill(wants: [5, 5], weights: [3, 1], amount: 4) == [3, 1])
    }
}
