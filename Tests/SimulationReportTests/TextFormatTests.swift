import Testing

@testable import SimulationReport

@Suite("report text formats")
struct TextFormatTests {
    @Test(
        "fixed decimals round half away from zero and never read -0",
        arguments: [
            (2.345, 1, "2.3"), (2.35, 1, "2.4"), (-0.04, 1, "0.0"), (-1.25, 1, "-1.3"), (7, 0, "7"),
            (0.5, 0, "1"), (99.9704, 3, "99.970"), (0.001, 2, "0.00"), (1_234_567.891, 2, "1234567.89"),
        ] as [(Double, Int, String)]
    )
    func fixed(value: Double, decimals: Int, text: String) {
        #expect(TextFormat.fixed(value, decimals: decimals) == text)
    }

    @Test("not-finite values read as a dash")
    func notFinite() {
        #expect(TextFormat.fixed(.nan, decimals: 2) == "—")
        #expect(TextFormat.usd(.infinity) == "—")
        #expect(TextFormat.percent(-.infinity, decimals: 1) == "—")
        #expect(TextFormat.duration(seconds: .nan) == "—")
        #expect(TextFormat.coordinate(.nan) == "0")
    }

    @Test("money, percentages, ratios and durations")
    func units() {
        #expect(TextFormat.usd(1_234_567.891) == "$1,234,567.89")
        #expect(TextFormat.usd(-3) == "-$3.00")
        #expect(TextFormat.usd(999.999) == "$1,000.00")
        #expect(TextFormat.grouped(123, decimals: 0) == "123")
        #expect(TextFormat.percent(0.9997, decimals: 3) == "99.970 %")
        #expect(TextFormat.ratio(1.3249) == "1.32×")
        #expect(TextFormat.ratio(nil) == "—")
        #expect(TextFormat.duration(seconds: 42) == "42 s")
        #expect(TextFormat.duration(seconds: 126) == "2.1 min")
        #expect(TextFormat.duration(seconds: 5_400) == "1.5 h")
        #expect(TextFormat.coordinate(12.04) == "12")
        #expect(TextFormat.coordinate(12.06) == "12.1")
    }

    @Test("time since the run began, and the run's length")
    func times() {
        #expect(TextFormat.elapsed(minutes: 0) == "0 h")
        #expect(TextFormat.elapsed(minutes: 360) == "6 h")
        #expect(TextFormat.elapsed(minutes: 1_440) == "1 d")
        #expect(TextFormat.elapsed(minutes: 2 * 1_440 + 750) == "2 d 12 h 30 min")
        #expect(TextFormat.runLength(minutes: 10_080) == "7 d (168 h)")
        #expect(TextFormat.runLength(minutes: 2_160) == "1 d 12 h (36 h)")
        #expect(TextFormat.runLength(minutes: 45) == "45 min")
    }

    @Test(
        "Unix seconds as a UTC date",
        arguments: [
            (Int64(0), "1970-01-01 00:00 UTC"), (1_717_372_800, "2024-06-03 00:00 UTC"),
            (951_827_400, "2000-02-29 12:30 UTC"), (-60, "1969-12-31 23:59 UTC"),
        ]
    )
    func utc(seconds: Int64, text: String) {
        #expect(TextFormat.utc(unixSeconds: seconds) == text)
    }

    @Test("markup characters are escaped")
    func html() {
        #expect(TextFormat.html("<a href='x'>\"&\"</a> ü") == "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt; ü")
    }
}
