// On-demand prices per region and instance type, with each type's size. Parsed from the CSV that ships with the
// module (BundledPrices.swift), optionally corrected by an operator's override file of negotiated prices.

/// An EC2 instance type's size.
public struct InstanceSpec: Codable, Sendable, Hashable {
    /// e.g. `m6i.large`.
    public var name: String
    public var vcpus: Int
    public var memoryGiB: Double

    public init(name: String, vcpus: Int, memoryGiB: Double) {
        self.name = name
        self.vcpus = vcpus
        self.memoryGiB = memoryGiB
    }

    /// The instance's raw capacity.
    public var capacity: Resources { .vcpu(Double(vcpus), gib: memoryGiB) }

    /// What Kubernetes will let pods request on a new node of this type: 90 % of the capacity, the share that
    /// kubelet and system reservations leave on K3s nodes of these sizes. Running nodes report their real value.
    public var estimatedAllocatable: Resources { capacity.scaled(by: 0.9) }

    /// The family, e.g. `m6i` for `m6i.large`.
    public var family: Substring { name.split(separator: ".").first ?? Substring(name) }
}

/// The on-demand price list: hourly USD per region × instance type, plus each type's size.
///
/// Promise: every entry has a known region, a type with a consistent size across regions, and a price in
/// (0, 1000) USD per hour; `parse` refuses anything else with an error naming the line.
public struct PriceCatalog: Sendable, Hashable {
    /// The date the list was taken (from the `# date:` line).
    public private(set) var date: String
    /// Where the prices came from (the `# source:` lines).
    public private(set) var source: String
    /// Every instance type by name.
    public private(set) var specs: [String: InstanceSpec]
    private var prices: [String: [String: Double]]
    /// Entries replaced by overrides, as `region/type`.
    public private(set) var overridden: Set<String> = []

    /// The catalog shipped with the module.
    public static func bundled() throws(CostError) -> PriceCatalog {
        try parse(csv: bundledCSV, name: "aws-on-demand-linux.csv")
    }

    /// An empty catalog to fill with `setPrice` (tests, simulations with made-up types).
    public init(date: String, source: String) {
        self.date = date
        self.source = source
        self.specs = [:]
        self.prices = [:]
    }

    /// Adds or replaces one entry.
    public mutating func setPrice(region: String, spec: InstanceSpec, usdPerHour: Double) {
        specs[spec.name] = spec
        prices[region, default: [:]][spec.name] = usdPerHour
    }

    /// Hourly on-demand price, or nil when the type is not sold in that region (per this catalog).
    public func onDemandUSDPerHour(region: String, instanceType: String) -> Double? {
        prices[region]?[instanceType]
    }

    public var regions: [String] { prices.keys.sorted() }

    /// Instance types with a price in `region`, sorted by name.
    public func instanceTypes(in region: String) -> [InstanceSpec] {
        (prices[region]?.keys.sorted() ?? []).compactMap { specs[$0] }
    }

    /// Reads the price CSV: `#` comment lines (one must be `# date: …`), a header
    /// `region,instance_type,vcpu,memory_gib,usd_per_hour`, then one entry per line.
    public static func parse(csv: String, name: String) throws(CostError) -> PriceCatalog {
        var catalog = PriceCatalog(date: "", source: "")
        var sawHeader = false
        var sourceLines: [String] = []
        var inSource = false
        for (index, rawLine) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(name):\(index + 1)"
            let line = rawLine.trimmingSpaces()
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingSpaces()
                if body.hasPrefix("date:") {
                    catalog.date = String(body.dropFirst(5).trimmingSpaces())
                    inSource = false
                } else if body.hasPrefix("source:") {
                    sourceLines.append(String(body.dropFirst(7).trimmingSpaces()))
                    inSource = true
                } else if inSource && rawLine.hasPrefix("#  ") {
                    sourceLines.append(String(body))
                } else {
                    inSource = false
                }
                continue
            }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.trimmingSpaces())
            }
            if !sawHeader {
                guard fields == ["region", "instance_type", "vcpu", "memory_gib", "usd_per_hour"] else {
                    throw CostError(
                        .invalidPriceFile,
                        context: where_,
                        message:
                            "expected the header region,instance_type,vcpu,memory_gib,usd_per_hour, found '\(line)'"
                    )
                }
                sawHeader = true
                continue
            }
            guard fields.count == 5 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: where_,
                    message: "expected 5 fields, found \(fields.count): '\(line)'"
                )
            }
            let (region, type) = (fields[0], fields[1])
            let entry = "\(where_) \(region)/\(type)"
            guard region.split(separator: "-").count >= 3 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "region '\(region)' is not an AWS region name like us-east-1"
                )
            }
            guard type.split(separator: ".").count == 2 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "instance type '\(type)' is not like m6i.large"
                )
            }
            guard let vcpus = Int(fields[2]), vcpus > 0 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "vcpu must be a positive integer, is '\(fields[2])'"
                )
            }
            guard let memory = Double(fields[3]), memory > 0 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "memory_gib must be a positive number, is '\(fields[3])'"
                )
            }
            guard let price = Double(fields[4]), price > 0, price < 1000 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "usd_per_hour must be a number in (0, 1000), is '\(fields[4])'"
                )
            }
            if catalog.prices[region]?[type] != nil {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "duplicate entry; keep one line per region and type"
                )
            }
            let spec = InstanceSpec(name: type, vcpus: vcpus, memoryGiB: memory)
            if let known = catalog.specs[type], known != spec {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message:
                        "size \(vcpus) vCPU / \(memory) GiB differs from an earlier line (\(known.vcpus) vCPU / \(known.memoryGiB) GiB)"
                )
            }
            catalog.setPrice(region: region, spec: spec, usdPerHour: price)
        }
        guard sawHeader else {
            throw CostError(
                .invalidPriceFile,
                context: name,
                message: "no header line; the file is empty or not a price CSV"
            )
        }
        guard !catalog.date.isEmpty else {
            throw CostError(
                .invalidPriceFile,
                context: name,
                message: "no '# date: YYYY-MM-DD' line saying when the prices were taken"
            )
        }
        guard !catalog.prices.isEmpty else {
            throw CostError(.invalidPriceFile, context: name, message: "no price entries")
        }
        catalog.source = sourceLines.joined(separator: " ")
        return catalog
    }

    /// The catalog with negotiated prices applied. The override CSV has the header
    /// `region,instance_type,usd_per_hour`; each line must name an entry the catalog has.
    public func applying(overridesCSV csv: String, name: String) throws(CostError) -> PriceCatalog {
        var result = self
        var sawHeader = false
        for (index, rawLine) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(name):\(index + 1)"
            let line = rawLine.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.trimmingSpaces())
            }
            if !sawHeader {
                guard fields == ["region", "instance_type", "usd_per_hour"] else {
                    throw CostError(
                        .invalidPriceFile,
                        context: where_,
                        message: "expected the header region,instance_type,usd_per_hour, found '\(line)'"
                    )
                }
                sawHeader = true
                continue
            }
            guard fields.count == 3 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: where_,
                    message: "expected 3 fields, found \(fields.count): '\(line)'"
                )
            }
            let entry = "\(where_) \(fields[0])/\(fields[1])"
            guard let spec = specs[fields[1]], prices[fields[0]]?[fields[1]] != nil else {
                throw CostError(
                    .unknownPriceOverride,
                    context: entry,
                    message:
                        "the catalog has no price for this region and type; check the spelling or add it to the price list"
                )
            }
            guard let price = Double(fields[2]), price > 0, price < 1000 else {
                throw CostError(
                    .invalidPriceEntry,
                    context: entry,
                    message: "usd_per_hour must be a number in (0, 1000), is '\(fields[2])'"
                )
            }
            result.setPrice(region: fields[0], spec: spec, usdPerHour: price)
            result.overridden.insert("\(fields[0])/\(fields[1])")
        }
        return result
    }
}

extension StringProtocol {
    func trimmingSpaces() -> SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
