/// The colour of each policy, the same on every chart of a report: the Okabe–Ito palette, which readers with
/// the common colour-vision deficiencies can tell apart. Known policies keep their colour from run to run;
/// others take the colours left, in the order they ran.
enum Palette {
    private static let known: [(name: String, colour: String)] = [
        ("static", "#6b6b6b"),
        ("reactive", "#e69f00"),
        ("ca", "#56b4e9"),
        ("karpenter", "#cc79a7"),
        ("ballast", "#0072b2"),
        ("oracle", "#009e73"),
    ]
    private static let spare = ["#d55e00", "#000000", "#b8a200", "#8c564b", "#9467bd"]

    /// One colour per policy, in the policies' order.
    static func colours(for policies: [PolicyResult]) -> [String] {
        var nextSpare = 0
        var taken = Set<String>()
        return policies.map { policy in
            if let known = known.first(where: { $0.name == policy.name }), !taken.contains(known.colour) {
                taken.insert(known.colour)
                return known.colour
            }
            let colour = spare[nextSpare % spare.count]
            nextSpare += 1
            return colour
        }
    }
}

/// Long series cut down for drawing: consecutive samples averaged in buckets so that a line has at most a
/// given number of points, which keeps a week of five-minute samples to a few hundred points per line.
enum Downsample {
    /// The index ranges of at most `cap` buckets of equal size (the last one may be short) over `count` samples.
    static func buckets(count: Int, cap: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let size = max(1, (count + max(cap, 1) - 1) / max(cap, 1))
        return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    /// Each bucket as (mean minute, mean of `value`), with the sample minute moved by `minuteOffset` (spend is
    /// read at a sample's end, the rest at its start). Values that are not finite count as zero.
    static func points(
        _ samples: [Sample],
        cap: Int,
        minuteOffset: Int = 0,
        value: (Sample) -> Double
    ) -> [(minute: Double, value: Double)] {
        buckets(count: samples.count, cap: cap).map { range in
            var minutes = 0.0
            var total = 0.0
            for sample in samples[range] {
                minutes += Double(sample.minute + minuteOffset)
                let item = value(sample)
                total += item.isFinite ? item : 0
            }
            let count = Double(range.count)
            return (minutes / count, total / count)
        }
    }

    /// Each bucket as (mean minute, sum of `numerator` over sum of `denominator`), zero where the denominator is.
    static func ratios(
        _ samples: [Sample],
        cap: Int,
        numerator: (Sample) -> Double,
        denominator: (Sample) -> Double
    ) -> [(minute: Double, value: Double)] {
        buckets(count: samples.count, cap: cap).map { range in
            var minutes = 0.0
            var top = 0.0
            var bottom = 0.0
            for sample in samples[range] {
                minutes += Double(sample.minute)
                let (n, d) = (numerator(sample), denominator(sample))
                if n.isFinite && d.isFinite {
                    top += n
                    bottom += d
                }
            }
            return (minutes / Double(range.count), bottom > 0 ? top / bottom : 0)
        }
    }
}
