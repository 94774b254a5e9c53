import BallastConfig
import Cost
import Foundation

extension Scenario {
    /// Reads, checks and resolves a scenario file (docs/simulator.md, "Scenarios"): refuses unknown keys, checks
    /// every value and relation, resolves trace paths against the file's directory, checks each trace is readable
    /// and sizes `requests-per-pod` from a trace's median where the file leaves it out.
    ///
    /// Every problem is one `ConfigError` naming the file, the key (`clusters[1].spot-share`,
    /// `events[3].zone-outage.zone`) and what was expected.
    public static func load(path: String) throws(ConfigError) -> Scenario {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            let (_, scenario) = try ConfigLoader.load(ScenarioFile.self, from: path) {
                (file) throws(ConfigValidationError) -> Scenario in
                try file.scenario(resolvingAgainst: directory)
            }
            return scenario
        } catch {
            var error = error
            if error.code == .unknownKey {
                let path = error.key.split(separator: ".").map(String.init)
                if let name = path.last, let known = ScenarioFile.knownKeys(inSection: path.dropLast()) {
                    if known.contains(name) {
                        // A known key the decoder skipped: it was written with no value (`zones:`).
                        error.code = .invalidValue
                        error.expected = "a value; the key has none (leave the key out to take its default)"
                    } else {
                        error.expected = ScenarioFile.hint(for: name, among: known)
                    }
                }
            }
            error.key = Self.bracketed(error.key)
            throw error
        }
    }

    /// `clusters.1.zones.0` → `clusters[1].zones[0]`: list positions written as a reader of the file counts them.
    static func bracketed(_ key: String) -> String {
        var text = ""
        for component in key.split(separator: ".", omittingEmptySubsequences: false) {
            if !component.isEmpty, component.allSatisfy(\.isASCII), component.allSatisfy(\.isNumber), !text.isEmpty {
                text += "[\(component)]"
            } else {
                text += text.isEmpty ? String(component) : "." + component
            }
        }
        return text
    }

    /// The trace minute a cluster plays at run minute `runMinute`: the trace's minute 0 is local midnight in the
    /// cluster's time zone, and `trace.offsetMinutes` is the trace minute played at the local midnight that begins
    /// the run's first local day. So at run minute 0 the cluster plays `offset + local time of day of the start`,
    /// and each cluster's local morning is its trace's morning whatever the start and the time zone.
    ///
    /// Not wrapped: the trace's reader wraps at its end.
    public func traceMinute(of cluster: ScenarioCluster, atRunMinute runMinute: Int) -> Int {
        let localStartMinute = (start / 60 + Int64(cluster.timeZoneOffsetHours) * 60)
        let minuteOfDay = Int(((localStartMinute % 1440) + 1440) % 1440)
        return cluster.trace.offsetMinutes + minuteOfDay + runMinute
    }
}

extension ScenarioFile {
    /// The scenario this file describes, with every default applied, trace paths made absolute, and each
    /// `requests-per-pod` left out sized from its trace's median. Runs after `validate()`.
    func scenario(resolvingAgainst directory: URL) throws(ConfigValidationError) -> Scenario {
        var medians: [String: Double] = [:]
        var resolvedClusters: [ScenarioCluster] = []
        for (index, cluster) in clusters.enumerated() {
            let key = "clusters.\(index)"
            let path = URL(fileURLWithPath: cluster.trace.file, relativeTo: directory).standardizedFileURL.path
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigValidationError(
                    key: key + ".trace.file",
                    expected: "a readable minute,requests CSV; \(path) cannot be read"
                )
            }
            let defaults = ScenarioCluster.defaults
            let podRequest = Resources(
                cpuMillicores: cluster.pod?.cpu?.milli ?? defaults.podRequest.cpuMillicores,
                memoryBytes: cluster.pod?.memory?.whole ?? defaults.podRequest.memoryBytes
            )
            let trace = ScenarioTrace(
                path: path,
                offsetMinutes: cluster.trace.offset?.wholeMinutes ?? 0,
                scale: cluster.trace.scale ?? 1
            )
            let requestsPerPod: Double
            if let written = cluster.requestsPerPod {
                requestsPerPod = written
            } else {
                let median: Double
                if let known = medians[path] {
                    median = known
                } else {
                    median = try TraceMedian.read(path: path, key: key + ".trace.file")
                    medians[path] = median
                }
                requestsPerPod = TraceMedian.requestsPerPod(median: median, scale: trace.scale, pod: podRequest)
                guard requestsPerPod > 0 else {
                    throw ConfigValidationError(
                        key: key + ".requests-per-pod",
                        expected: "a value written out: the trace's median is 0, so it cannot size the pods"
                    )
                }
            }
            resolvedClusters.append(
                ScenarioCluster(
                    id: ClusterID(cluster.id),
                    region: cluster.region,
                    zones: cluster.resolvedZones,
                    timeZoneOffsetHours: cluster.timeZone?.hoursEastOfUTC ?? defaults.timeZoneOffsetHours,
                    trace: trace,
                    requestsPerPod: requestsPerPod,
                    podRequest: podRequest,
                    maxUnavailable: cluster.maxUnavailable ?? defaults.maxUnavailable,
                    instanceTypes: cluster.instanceTypes ?? defaults.instanceTypes,
                    initialNodes: cluster.initialNodes ?? defaults.initialNodes,
                    minNodes: cluster.minNodes ?? defaults.minNodes,
                    maxNodes: cluster.maxNodes ?? defaults.maxNodes,
                    onDemandBase: cluster.onDemandBase ?? defaults.onDemandBase,
                    spotShare: cluster.spotShare ?? defaults.spotShare,
                    targetUtilisation: cluster.targetUtilisation,
                    priority: cluster.priority?.value ?? defaults.priority,
                    failoverTargets: (cluster.failoverTargets ?? []).map { ClusterID($0) }
                )
            )
        }
        let cloudDefaults = ScenarioCloud()
        return Scenario(
            name: name,
            description: description ?? "",
            durationMinutes: duration.wholeMinutes ?? 0,
            seed: seed ?? 0,
            start: start.unixSeconds,
            budget: budget.map {
                ScenarioBudget(
                    monthlyUSD: $0.monthlyUSD,
                    regions: $0.regions ?? [:],
                    spentBeforeUSD: $0.spentBeforeUSD ?? 0
                )
            },
            cloud: ScenarioCloud(
                bootP50Seconds: cloud?.bootP50?.seconds ?? cloudDefaults.bootP50Seconds,
                bootP90Seconds: cloud?.bootP90?.seconds ?? cloudDefaults.bootP90Seconds,
                interruptionsPerInstanceHour: cloud?.interruptionsPerInstanceHour
                    ?? cloudDefaults.interruptionsPerInstanceHour,
                rebalanceShare: cloud?.rebalanceShare ?? cloudDefaults.rebalanceShare,
                spotPriceVolatility: cloud?.spotPriceVolatility ?? cloudDefaults.spotPriceVolatility
            ),
            clusters: resolvedClusters,
            events: (events ?? []).enumerated()
                .map { ScenarioEvent(at: $0.element.at.wholeMinutes ?? 0, kind: $0.element.kind.model) }
                // Stable: events at the same minute keep the file's order.
                .enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        )
    }
}

extension ScenarioFile {
    /// Every key the section at `path` (dotted components, list positions as numbers) may hold, or nil for a
    /// section of free names (`budget.regions`). The loader's own hint names only the keys the file wrote, so an
    /// unknown key's hint comes from here: a typo of a key the file left out still finds it.
    static func knownKeys(inSection path: ArraySlice<String>) -> [String]? {
        func names<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) -> [String] {
            keys.allCases.map(\.stringValue)
        }
        let shape = path.map { $0.allSatisfy(\.isNumber) ? "#" : $0 }
        switch shape {
        case []: return names(CodingKeys.self)
        case ["budget"]: return names(Budget.CodingKeys.self)
        case ["cloud"]: return names(Cloud.CodingKeys.self)
        case ["clusters", "#"]: return names(Cluster.CodingKeys.self)
        case ["clusters", "#", "trace"]: return names(Trace.CodingKeys.self)
        case ["clusters", "#", "pod"]: return names(Pod.CodingKeys.self)
        case ["events", "#"]: return names(Event.CodingKeys.self)
        case ["events", "#", "zone-outage"]: return names(Event.ZoneOutage.CodingKeys.self)
        case ["events", "#", "region-outage"]: return names(Event.RegionOutage.CodingKeys.self)
        case ["events", "#", "price-change"]: return names(Event.PriceChange.CodingKeys.self)
        case ["events", "#", "spot-storm"]: return names(Event.SpotStorm.CodingKeys.self)
        case ["events", "#", "capacity-shortage"]: return names(Event.CapacityShortage.CodingKeys.self)
        case ["events", "#", "budget-change"]: return names(Event.BudgetChange.CodingKeys.self)
        case ["events", "#", "failover"]: return names(Event.Failover.CodingKeys.self)
        case ["events", "#", "failback"]: return names(Event.Failback.CodingKeys.self)
        default: return nil
        }
    }

    /// `did you mean `spot-share`?` when a known key is a small edit away, else the keys the section takes.
    static func hint(for name: String, among known: [String]) -> String {
        if let best = ConfigLoader.closest(to: name, among: known) { return "did you mean `\(best)`?" }
        return "known keys here: \(known.sorted().joined(separator: ", "))"
    }
}

extension ScenarioFile.Event.Kind {
    /// The model's form: durations in whole minutes (validated before this runs).
    var model: ScenarioEvent.Kind {
        switch self {
        case .zoneOutage(let outage):
            .zoneOutage(zone: outage.zone, minutes: outage.duration.wholeMinutes ?? 0)
        case .regionOutage(let outage):
            .regionOutage(region: outage.region, minutes: outage.duration.wholeMinutes ?? 0)
        case .priceChange(let change):
            .priceChange(
                region: change.region,
                zone: change.zone,
                instanceType: change.instanceType,
                factor: change.factor
            )
        case .spotStorm(let storm):
            .spotStorm(
                zone: storm.zone,
                instanceType: storm.instanceType,
                minutes: storm.duration.wholeMinutes ?? 0,
                interruptionsPerInstanceHour: storm.interruptionsPerInstanceHour
            )
        case .capacityShortage(let shortage):
            .capacityShortage(
                zone: shortage.zone,
                instanceType: shortage.instanceType,
                market: shortage.market?.market,
                minutes: shortage.duration.wholeMinutes ?? 0
            )
        case .budgetChange(let change):
            .budgetChange(region: change.region, monthlyUSD: change.monthlyUSD)
        case .failover(let failover):
            .failover(from: failover.from, to: ClusterID(failover.to))
        case .failback(let failback):
            .failback(from: failback.from)
        }
    }
}

/// The default `requests-per-pod`: a trace's median minute sized to six nodes of an m6i.large's allocatable.
enum TraceMedian {
    /// What the kubelet leaves to pods on an m6i.large (2 vCPU, 8 GiB): 1930m CPU and 7168Mi of memory.
    static let nodeAllocatable = Resources(cpuMillicores: 1930, memoryBytes: 7168 << 20)
    /// The median minute fills this many nodes.
    static let nodesAtMedian = 6

    /// `median × scale / (6 × pods per node)`, pods per node being the whole pods of `pod` an m6i.large's
    /// allocatable holds (at least one).
    static func requestsPerPod(median: Double, scale: Double, pod: Resources) -> Double {
        let byCPU = nodeAllocatable.cpuMillicores / max(pod.cpuMillicores, 1)
        let byMemory = nodeAllocatable.memoryBytes / max(pod.memoryBytes, 1)
        let podsPerNode = max(1, min(byCPU, byMemory))
        return median * scale / Double(nodesAtMedian * podsPerNode)
    }

    /// The median of a `minute,requests` CSV's requests (the upper median, as the simulator's trace reader
    /// takes it). Errors name the line.
    static func read(path: String, key: String) throws(ConfigValidationError) -> Double {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigValidationError(key: key, expected: "a readable minute,requests CSV; \(path) cannot be read")
        }
        // Bytes, not Strings: a trace has tens of thousands of lines, and this runs on every load.
        let bytes = [UInt8](data)
        var values: [Double] = []
        var lineNumber = 0
        var lineStart = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let line = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            guard lineNumber > 1, let requests = requestsField(of: line) else { continue }
            guard let requests else {
                throw ConfigValidationError(
                    key: key,
                    expected:
                        "a minute,requests CSV with a header line; \(path) line \(lineNumber) is \"\(String(decoding: line, as: UTF8.self))\""
                )
            }
            values.append(requests)
        }
        guard !values.isEmpty else {
            throw ConfigValidationError(key: key, expected: "a minute,requests CSV with rows; \(path) has none")
        }
        values.sort()
        return values[values.count / 2]
    }

    /// The requests of one `minute,requests` line: nil for a blank line, `.some(nil)` for a line that is not one.
    private static func requestsField(of line: ArraySlice<UInt8>) -> Double?? {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\r") || byte == 9 }
        guard line.contains(where: { !isSpace($0) }) else { return nil }
        guard let comma = line.firstIndex(of: UInt8(ascii: ",")) else { return .some(nil) }
        let minute = line[..<comma].filter { !isSpace($0) }
        let requests = line[(comma + 1)...].filter { !isSpace($0) }
        guard !minute.isEmpty, minute.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let value = Double(String(decoding: requests, as: UTF8.self)), value >= 0, value.isFinite
        else { return .some(nil) }
        return value
    }
}
