/// A configuration problem, naming the file, the key and what was expected, so the operator can fix it without
/// reading code. Raised once at start; a process with a bad config never starts serving.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of problem it is; stable across releases.
    public enum Code: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The file is not well-formed YAML.
        case malformedYAML
        /// A required key is absent.
        case missingKey
        /// A key holds a value of the wrong type or form.
        case invalidValue
        /// A key the program does not know: usually a typo, never silently ignored.
        case unknownKey
    }

    public var code: Code
    /// The configuration file's path as given.
    public var file: String
    /// The dotted path of the offending key (`coordinator.lease.duration`), or empty for the whole file.
    public var key: String
    /// What would have been accepted, in words.
    public var expected: String

    public init(code: Code, file: String, key: String, expected: String) {
        self.code = code
        self.file = file
        self.key = key
        self.expected = expected
    }

    public var description: String {
        let place = key.isEmpty ? file : "\(file): \(key)"
        switch code {
        case .unreadable: return "\(place): cannot read the configuration file (\(expected))"
        case .malformedYAML: return "\(place): not valid YAML (\(expected))"
        case .missingKey: return "\(place): missing; expected \(expected)"
        case .invalidValue: return "\(place): expected \(expected)"
        case .unknownKey: return "\(place): unknown key; \(expected)"
        }
    }
}

/// A problem a configuration type finds in its own values after decoding (a range, a relation between keys).
/// `ConfigLoader` turns it into a `ConfigError` naming the file.
public struct ConfigValidationError: Error, Equatable, Sendable {
    /// The dotted key path, relative to the document root.
    public var key: String
    /// What would have been accepted.
    public var expected: String

    public init(key: String, expected: String) {
        self.key = key
        self.expected = expected
    }
}

/// A configuration type that checks its decoded values (ranges, relations between keys) once at load time.
public protocol ValidatedConfiguration: Codable, Sendable {
    /// Throws `ConfigValidationError` for the first value that is out of range.
    func validate() throws(ConfigValidationError)
}
