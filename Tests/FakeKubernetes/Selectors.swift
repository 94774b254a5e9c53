/// A label selector in the query-string syntax of the Kubernetes API (`app=web,tier!=db,env in (a,b),!legacy`),
/// or built from a `LabelSelector` object (`matchLabels`, `matchExpressions`) as budgets carry it.
public struct LabelSelector: Sendable, Equatable {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case `in`(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)

        func matches(_ labels: [String: String]) -> Bool {
            switch self {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .in(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return labels[key].map { !values.contains($0) } ?? true
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            }
        }
    }

    public var requirements: [Requirement]

    /// Everything matches an empty selector.
    public static let everything = LabelSelector(requirements: [])

    public init(requirements: [Requirement]) { self.requirements = requirements }

    /// Parses the query-string syntax; nil when it is malformed (the API answers 400).
    public init?(parsing text: String) {
        var requirements: [Requirement] = []
        for clause in Self.splitClauses(text) {
            let part = clause.trimmingWhitespace()
            if part.isEmpty { continue }
            if let range = part.range(of: " notin ") ?? part.range(of: " in ") {
                let key = String(part[..<range.lowerBound]).trimmingWhitespace()
                let rest = String(part[range.upperBound...]).trimmingWhitespace()
                guard rest.hasPrefix("("), rest.hasSuffix(")"), !key.isEmpty else { return nil }
                let values = Set(
                    rest.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingWhitespace() }
                )
                let isNot = part[range].contains("notin")
                requirements.append(isNot ? .notIn(key, values) : .in(key, values))
            } else if let range = part.range(of: "!=") {
                requirements.append(
                    .notEquals(String(part[..<range.lowerBound]), String(part[range.upperBound...]))
                )
            } else if let range = part.range(of: "==") ?? part.range(of: "=") {
                let key = String(part[..<range.lowerBound])
                guard !key.isEmpty else { return nil }
                requirements.append(.equals(key, String(part[range.upperBound...])))
            } else if part.hasPrefix("!") {
                requirements.append(.doesNotExist(String(part.dropFirst())))
            } else {
                guard !part.contains(" ") else { return nil }
                requirements.append(.exists(part))
            }
        }
        self.requirements = requirements
    }

    /// Builds the selector of a `LabelSelector` object (a budget's `spec.selector`); nil when it is malformed.
    /// A missing or empty object selects everything, as for a policy/v1 budget.
    public init?(object: JSONValue?) {
        var requirements: [Requirement] = []
        for (key, value) in object?["matchLabels"]?.objectValue ?? [:] {
            guard let value = value.stringValue else { return nil }
            requirements.append(.equals(key, value))
        }
        for expression in object?["matchExpressions"]?.arrayValue ?? [] {
            guard let key = expression["key"]?.stringValue, let op = expression["operator"]?.stringValue else {
                return nil
            }
            let values = Set((expression["values"]?.arrayValue ?? []).compactMap(\.stringValue))
            switch op {
            case "In": requirements.append(.in(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            case "DoesNotExist": requirements.append(.doesNotExist(key))
            default: return nil
            }
        }
        self.requirements = requirements
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    /// Splits on commas that are not inside a parenthesised value set.
    private static func splitClauses(_ text: String) -> [String] {
        var clauses: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1
            case ")": depth -= 1
            case "," where depth == 0:
                clauses.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        clauses.append(current)
        return clauses
    }
}

/// A field selector (`spec.nodeName=n1,status.phase!=Running`) over the fields a resource supports; selecting
/// on any other field is refused as the API server refuses it.
public struct FieldSelector: Sendable, Equatable {
    public struct Term: Sendable, Equatable {
        public var field: String
        public var value: String
        public var negated: Bool
    }

    public var terms: [Term]

    public enum ParseError: Error, Equatable {
        case malformed(String)
        case unsupportedField(String)
    }

    /// Parses `text`, accepting only `supportedFields`.
    public init(parsing text: String, supportedFields: Set<String>) throws(ParseError) {
        var terms: [Term] = []
        for clause in text.split(separator: ",") {
            let part = String(clause)
            let negated: Bool
            let range: Range<String.Index>
            if let found = part.range(of: "!=") {
                negated = true
                range = found
            } else if let found = part.range(of: "==") ?? part.range(of: "=") {
                negated = false
                range = found
            } else {
                throw .malformed(part)
            }
            let field = String(part[..<range.lowerBound])
            guard supportedFields.contains(field) else { throw .unsupportedField(field) }
            terms.append(Term(field: field, value: String(part[range.upperBound...]), negated: negated))
        }
        self.terms = terms
    }

    /// Whether `object` matches; a field that is absent reads as the empty string, as in the API server.
    public func matches(_ object: JSONValue) -> Bool {
        terms.allSatisfy { term in
            let actual: String
            switch object[path: term.field.split(separator: ".").map(String.init)] {
            case .string(let value): actual = value
            case .bool(let value): actual = value ? "true" : "false"
            case .int(let value): actual = String(value)
            default: actual = term.field == "spec.unschedulable" ? "false" : ""
            }
            return (actual == term.value) != term.negated
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
