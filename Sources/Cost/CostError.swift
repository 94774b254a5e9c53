/// An error from the Cost module: a stable code to branch on, what it concerns, and what to do about it.
public struct CostError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable, Hashable {
        /// A price file entry is malformed or out of range.
        case invalidPriceEntry = "invalid-price-entry"
        /// A price file has no header, no date or no entries.
        case invalidPriceFile = "invalid-price-file"
        /// An override names a region or instance type the catalog does not know.
        case unknownPriceOverride = "unknown-price-override"
        case invalidPolicy = "invalid-policy"
        case invalidBudget = "invalid-budget"
        /// A planner setting is out of range.
        case invalidSettings = "invalid-settings"
        /// A trace or series could not be read.
        case invalidSeries = "invalid-series"
    }

    public var code: Code
    /// What the error concerns: a file and line, a cluster and key.
    public var context: String
    /// What is wrong and what to do.
    public var message: String
    /// The model field that is out of range (`minNodes`, `regionalMonthlyUSD.eu-west-1`), for a caller that maps
    /// it back to where the value came from (a configuration key, a CLI flag); nil when no single field is at
    /// fault.
    public var field: String?

    public init(_ code: Code, context: String, message: String, field: String? = nil) {
        self.code = code
        self.context = context
        self.message = message
        self.field = field
    }

    public var description: String { "\(code.rawValue) (\(context)): \(message)" }
}
