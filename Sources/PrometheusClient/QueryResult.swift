import Foundation

/// The result of a PromQL instant query, by the type Prometheus reports in `data.resultType`.
///
/// Values arrive as text (`"0.25"`, `"NaN"`, `"+Inf"`) and are decoded to `Double`, so NaN and the infinities
/// survive; timestamps arrive as seconds since the Unix epoch with millisecond precision.
public enum QueryResult: Sendable, Hashable {
    /// One sample per series, all at the evaluation time.
    case vector([VectorSample])
    /// A single number.
    case scalar(SamplePoint)
    /// A single string.
    case string(time: Date, value: String)
    /// Several samples per series (a range selector such as `up[5m]` queried at an instant).
    case matrix([Series])

    /// The name Prometheus gives the type (`vector`, `scalar`, `string`, `matrix`).
    public var resultType: String {
        switch self {
        case .vector: "vector"
        case .scalar: "scalar"
        case .string: "string"
        case .matrix: "matrix"
        }
    }
}

/// One value at one instant.
public struct SamplePoint: Sendable, Hashable {
    /// When the value holds. For an instant query this is the evaluation time, not the time of the raw data
    /// the value was computed from (use PromQL's `timestamp()` to learn that).
    public var time: Date
    public var value: Double

    public init(time: Date, value: Double) {
        self.time = time
        self.value = value
    }

    public static func == (a: SamplePoint, b: SamplePoint) -> Bool {
        // NaN is a value Prometheus sends on purpose (0/0); two NaN samples at one time are the same sample.
        a.time == b.time && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(time)
        hasher.combine(value.isNaN ? Double.nan.bitPattern : value.bitPattern)
    }
}

/// One series of a vector: its labels (including `__name__` when the query keeps it) and its sample.
public struct VectorSample: Sendable, Hashable {
    public var labels: [String: String]
    public var point: SamplePoint

    public init(labels: [String: String], point: SamplePoint) {
        self.labels = labels
        self.point = point
    }
}

/// One series of a matrix: its labels and its samples, oldest first.
public struct Series: Sendable, Hashable {
    public var labels: [String: String]
    public var points: [SamplePoint]

    public init(labels: [String: String], points: [SamplePoint]) {
        self.labels = labels
        self.points = points
    }
}

// MARK: Decoding

/// The API's envelope: `{"status":"success","data":{...},"warnings":[...]}` or
/// `{"status":"error","errorType":"bad_data","error":"..."}`.
struct QueryEnvelope: Decodable {
    let status: String
    let data: QueryData?
    let errorType: String?
    let error: String?
    let warnings: [String]?
}

struct QueryData: Decodable {
    let result: QueryResult

    enum CodingKeys: String, CodingKey {
        case resultType, result
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .resultType)
        switch type {
        case "vector":
            let series = try container.decode([RawSeries].self, forKey: .result)
            result = .vector(
                try series.map { raw in
                    guard let value = raw.value else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .result,
                            in: container,
                            debugDescription: "a vector sample without 'value'"
                        )
                    }
                    return VectorSample(labels: raw.metric ?? [:], point: value.point)
                }
            )
        case "matrix":
            let series = try container.decode([RawSeries].self, forKey: .result)
            result = .matrix(series.map { Series(labels: $0.metric ?? [:], points: ($0.values ?? []).map(\.point)) })
        case "scalar":
            result = .scalar(try container.decode(RawPoint.self, forKey: .result).point)
        case "string":
            let raw = try container.decode(RawStringPoint.self, forKey: .result)
            result = .string(time: raw.time, value: raw.value)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .resultType,
                in: container,
                debugDescription: "unknown result type '\(type)'"
            )
        }
    }
}

struct RawSeries: Decodable {
    let metric: [String: String]?
    let value: RawPoint?
    let values: [RawPoint]?
}

/// `[1435781451.781, "1"]`: seconds since the epoch as a number, the value as text.
struct RawPoint: Decodable {
    let point: SamplePoint

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let seconds = try container.decode(Double.self)
        let text = try container.decode(String.self)
        guard let value = RawPoint.parseValue(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "sample value '\(text.prefix(40))' is not a number"
            )
        }
        point = SamplePoint(time: Date(timeIntervalSince1970: seconds), value: value)
    }

    /// Prometheus formats values with Go's `strconv.FormatFloat(v, 'f', -1, 64)`: decimal text, or `NaN`,
    /// `+Inf`, `-Inf`.
    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }
}

struct RawStringPoint: Decodable {
    let time: Date
    let value: String

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        time = Date(timeIntervalSince1970: try container.decode(Double.self))
        value = try container.decode(String.self)
    }
}
