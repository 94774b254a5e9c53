/// An amount of CPU and memory, in the units Kubernetes requests use: CPU in millicores, memory in bytes.
///
/// Integers keep sums exact across a fleet of hundreds of thousands of nodes.
public struct Resources: Codable, Sendable, Hashable, CustomStringConvertible, TextOutputStreamable {
    /// CPU in millicores (1 vCPU = 1000).
    public var cpuMillicores: Int
    /// Memory in bytes.
    public var memoryBytes: Int

    public init(cpuMillicores: Int, memoryBytes: Int) {
        self.cpuMillicores = cpuMillicores
        self.memoryBytes = memoryBytes
    }

    public static let zero = Resources(cpuMillicores: 0, memoryBytes: 0)
    public static let gibibyte = 1 << 30

    /// Resources given as whole vCPUs and GiB.
    public static func vcpu(_ cpus: Double, gib: Double) -> Resources {
        Resources(cpuMillicores: Int((cpus * 1000).rounded()), memoryBytes: Int((gib * Double(gibibyte)).rounded()))
    }

    public static func + (a: Resources, b: Resources) -> Resources {
        Resources(cpuMillicores: a.cpuMillicores + b.cpuMillicores, memoryBytes: a.memoryBytes + b.memoryBytes)
    }
    public static func - (a: Resources, b: Resources) -> Resources {
        Resources(cpuMillicores: a.cpuMillicores - b.cpuMillicores, memoryBytes: a.memoryBytes - b.memoryBytes)
    }
    public static func += (a: inout Resources, b: Resources) { a = a + b }
    public static func -= (a: inout Resources, b: Resources) { a = a - b }

    /// The larger of each dimension.
    public func componentMax(_ other: Resources) -> Resources {
        Resources(
            cpuMillicores: max(cpuMillicores, other.cpuMillicores),
            memoryBytes: max(memoryBytes, other.memoryBytes)
        )
    }

    /// Each dimension scaled by `factor`, rounded up so a requirement is never understated.
    public func scaled(by factor: Double) -> Resources {
        Resources(
            cpuMillicores: Resources.clampedInt(Double(cpuMillicores) * factor),
            memoryBytes: Resources.clampedInt(Double(memoryBytes) * factor)
        )
    }

    /// Rounds up and keeps the result representable, so absurd reported values cannot trap the planner.
    static func clampedInt(_ v: Double) -> Int {
        guard v.isFinite else { return v > 0 ? Int.max / 4 : 0 }
        return Int(min(max(v.rounded(.up), -Double(Int.max / 4)), Double(Int.max / 4)))
    }

    /// True when both dimensions of `self` are at most those of `other`.
    public func fits(in other: Resources) -> Bool {
        cpuMillicores <= other.cpuMillicores && memoryBytes <= other.memoryBytes
    }

    public var isZero: Bool { cpuMillicores <= 0 && memoryBytes <= 0 }

    public var description: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// Writes `description` piece by piece, so a reason that interpolates resources builds no string for them.
    public func write(to target: inout some TextOutputStream) {
        // GiB to two decimals in integer arithmetic: reasons are built for every cluster on every cycle.
        let hundredths = (memoryBytes * 100 + Resources.gibibyte / 2) / Resources.gibibyte
        let frac = abs(hundredths) % 100
        target.write(String(cpuMillicores))
        target.write("m CPU / ")
        target.write(String(hundredths / 100))
        target.write(frac < 10 ? ".0" : ".")
        target.write(String(frac))
        target.write(" GiB")
    }
}

/// Which AWS purchase market a node runs in.
public enum Market: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case onDemand = "on-demand"
    case spot
    public var description: String { rawValue }
}
