import Foundation
import Yams

/// Loads a configuration type from a YAML file: decodes it, refuses keys the type does not know (typos are the
/// most common config bug), runs the type's own validation, and reports every problem as a `ConfigError` that
/// names the file, the key and what was expected.
public enum ConfigLoader {
    /// Reads and validates `path`.
    public static func load<Config: ValidatedConfiguration>(
        _ type: Config.Type,
        from path: String
    ) throws(ConfigError)
        -> Config
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(code: .unreadable, file: path, key: "", expected: "a readable YAML file at this path")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(code: .unreadable, file: path, key: "", expected: "UTF-8 text")
        }
        return try decode(type, yaml: text, file: path)
    }

    /// Decodes and validates YAML text; `file` is only used to name the source in errors.
    public static func decode<Config: ValidatedConfiguration>(
        _ type: Config.Type,
        yaml: String,
        file: String
    )
        throws(ConfigError) -> Config
    {
        let tree: Node?
        do {
            tree = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(code: .malformedYAML, file: file, key: "", expected: "\(error)")
        }
        let config: Config
        do {
            // An empty document means "all defaults".
            config = try YAMLDecoder().decode(Config.self, from: tree == nil ? "{}" : yaml)
        } catch let error as DecodingError {
            throw configError(from: error, file: file)
        } catch {
            throw ConfigError(code: .invalidValue, file: file, key: "", expected: "\(error)")
        }
        if let tree {
            try refuseUnknownKeys(in: tree, decoded: config, file: file)
        }
        do {
            try config.validate()
        } catch {
            throw ConfigError(code: .invalidValue, file: file, key: error.key, expected: error.expected)
        }
        return config
    }

    /// Keys present in the file but absent from the decoded value re-encoded are keys the type ignored.
    private static func refuseUnknownKeys<Config: Encodable>(
        in tree: Node,
        decoded: Config,
        file: String
    )
        throws(ConfigError)
    {
        let known: Node?
        do {
            known = try Yams.compose(yaml: YAMLEncoder().encode(decoded))
        } catch {
            return  // Cannot happen for a type that just decoded; validation of the rest still runs.
        }
        if let unknown = firstUnknownKey(in: tree, known: known, path: []) {
            let siblings = unknown.siblings.sorted()
            let hint =
                closest(to: unknown.path.last ?? "", among: siblings).map { "did you mean `\($0)`?" }
                ?? (siblings.isEmpty
                    ? "this section takes no keys" : "known keys here: \(siblings.joined(separator: ", "))")
            throw ConfigError(code: .unknownKey, file: file, key: unknown.path.joined(separator: "."), expected: hint)
        }
    }

    private static func firstUnknownKey(
        in node: Node,
        known: Node?,
        path: [String]
    ) -> (
        path: [String], siblings: [String]
    )? {
        switch node {
        case .mapping(let mapping):
            let knownMapping = known?.mapping
            let knownKeys = knownMapping.map { $0.keys.compactMap(\.string) } ?? []
            for (key, value) in mapping {
                guard let name = key.string else { continue }
                guard let knownValue = knownMapping?[Node(name)] else {
                    return (path + [name], knownKeys)
                }
                if let found = firstUnknownKey(in: value, known: knownValue, path: path + [name]) { return found }
            }
        case .sequence(let sequence):
            let knownItems = known?.sequence.map { Array($0) } ?? []
            for (index, item) in sequence.enumerated() where index < knownItems.count {
                if let found = firstUnknownKey(in: item, known: knownItems[index], path: path + ["\(index)"]) {
                    return found
                }
            }
        default:
            break
        }
        return nil
    }

    /// The candidate a small edit away from `word` (case-insensitive edit distance at most max(2, a third of
    /// its length)), the nearest if several; nil when none is that close. The "did you mean" of every config error.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                )
            }
            previous = current
        }
        return previous[b.count]
    }

    private static func configError(from error: DecodingError, file: String) -> ConfigError {
        func keyPath(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return ConfigError(
                code: .missingKey,
                file: file,
                key: keyPath(context.codingPath + [key]),
                expected: "a value for this required key"
            )
        case .typeMismatch(let type, let context):
            return ConfigError(
                code: .invalidValue,
                file: file,
                key: keyPath(context.codingPath),
                expected: describe(type)
            )
        case .valueNotFound(let type, let context):
            return ConfigError(
                code: .invalidValue,
                file: file,
                key: keyPath(context.codingPath),
                expected: describe(type) + ", found nothing"
            )
        case .dataCorrupted(let context):
            return ConfigError(
                code: .invalidValue,
                file: file,
                key: keyPath(context.codingPath),
                expected: context.debugDescription
            )
        @unknown default:
            return ConfigError(code: .invalidValue, file: file, key: "", expected: "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is UInt16.Type, is Int32.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping of keys to values" }
            return "a mapping (\(name))"
        }
    }
}

extension KeyedDecodingContainer {
    /// Decodes `key` when present, or returns `defaultValue`: configuration types use this so that every key is
    /// optional in the file and its default is written once, next to the property.
    public func decode<T: Decodable>(_ key: Key, default defaultValue: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? defaultValue()
    }
}

extension ConfigLoader {
    /// Loads and validates `path`, then reads what the process needs from it at start (secrets, files) with
    /// `resolve`; any problem is one `ConfigError` naming the file, the key and what was expected.
    public static func load<Config: ValidatedConfiguration, Resolved>(
        _ type: Config.Type,
        from path: String,
        resolving resolve: (Config) throws(ConfigValidationError) -> Resolved
    ) throws(ConfigError) -> (Config, Resolved) {
        let config = try load(type, from: path)
        do {
            return (config, try resolve(config))
        } catch {
            throw ConfigError(code: .invalidValue, file: path, key: error.key, expected: error.expected)
        }
    }
}
