import Foundation

/// An element of an XML document as the Query-protocol services send it: name (namespace prefix dropped),
/// attributes, child elements in order and the concatenated text directly inside it.
///
/// The parser is small on purpose: it reads the XML that EC2, IAM and SQS reply with (a declaration,
/// elements, attributes, text, the five named entities, numeric character references, CDATA, comments) and
/// rejects anything malformed with `.invalidResponse`; it does not read DTDs or resolve external entities.
public struct XMLNode: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLNode]
    public var text: String

    public init(name: String, attributes: [String: String] = [:], children: [XMLNode] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first direct child with this name.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// The text of the first direct child with this name.
    public func string(_ name: String) -> String? { child(name)?.text }

    /// The `item` children of the named child: how Query protocols encode lists (`<instancesSet><item>`).
    public func items(_ listName: String) -> [XMLNode] {
        child(listName)?.children.filter { $0.name == "item" || $0.name == "member" } ?? []
    }

    /// The first element with this name in a depth-first walk, including this one.
    public func first(named name: String) -> XMLNode? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// Parses a whole document and returns its root element.
    public static func parse(_ data: Data) throws -> XMLNode {
        var parser = Parser(bytes: Array(data))
        return try parser.document()
    }

    public static func parse(_ text: String) throws -> XMLNode { try parse(Data(text.utf8)) }
}

extension XMLNode {
    fileprivate struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ what: String) -> AWSError {
            AWSError(code: .invalidResponse, message: "malformed XML at byte \(index): \(what)")
        }

        mutating func document() throws -> XMLNode {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            try skipMisc()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else {
                throw fail("expected the root element")
            }
            let root = try element()
            try skipMisc()
            guard index == bytes.count else { throw fail("content after the root element") }
            return root
        }

        /// Skips whitespace, the XML declaration, processing instructions and comments between elements.
        mutating func skipMisc() throws {
            while index < bytes.count {
                if isSpace(bytes[index]) {
                    index += 1
                } else if hasPrefix("<?") {
                    try skip(past: "?>")
                } else if hasPrefix("<!--") {
                    try skip(past: "-->")
                } else if hasPrefix("<!") {
                    throw fail("DTDs are not accepted")
                } else {
                    return
                }
            }
        }

        func hasPrefix(_ prefix: String) -> Bool {
            let p = Array(prefix.utf8)
            return index + p.count <= bytes.count && Array(bytes[index..<index + p.count]) == p
        }

        mutating func skip(past terminator: String) throws {
            let t = Array(terminator.utf8)
            while index + t.count <= bytes.count {
                if Array(bytes[index..<index + t.count]) == t {
                    index += t.count
                    return
                }
                index += 1
            }
            throw fail("unterminated construct, expected \(terminator)")
        }

        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        func isNameByte(_ b: UInt8) -> Bool {
            !(isSpace(b) || b == UInt8(ascii: "/") || b == UInt8(ascii: ">") || b == UInt8(ascii: "=")
                || b == UInt8(ascii: "<") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'"))
        }

        mutating func name() throws -> String {
            let start = index
            while index < bytes.count && isNameByte(bytes[index]) { index += 1 }
            guard index > start else { throw fail("expected a name") }
            let full = String(decoding: bytes[start..<index], as: UTF8.self)
            // Namespace prefixes carry nothing the clients need.
            return full.split(separator: ":").last.map(String.init) ?? full
        }

        mutating func skipSpaces() {
            while index < bytes.count && isSpace(bytes[index]) { index += 1 }
        }

        /// Parses `<name attrs>content</name>` or `<name attrs/>`, with `index` at the `<`.
        mutating func element() throws -> XMLNode {
            index += 1
            var node = XMLNode(name: try name())
            while true {
                skipSpaces()
                guard index < bytes.count else { throw fail("unterminated start tag <\(node.name)") }
                if bytes[index] == UInt8(ascii: "/") {
                    guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else {
                        throw fail("expected />")
                    }
                    index += 2
                    return node
                }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                let attribute = try name()
                skipSpaces()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                    throw fail("expected = after \(attribute)")
                }
                index += 1
                skipSpaces()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'")
                else {
                    throw fail("expected a quoted value for \(attribute)")
                }
                let quote = bytes[index]
                index += 1
                let start = index
                while index < bytes.count && bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw fail("unterminated attribute \(attribute)") }
                node.attributes[attribute] = try decodeEntities(bytes[start..<index])
                index += 1
            }
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("<\(node.name)> is not closed") }
                if bytes[index] != UInt8(ascii: "<") {
                    let start = index
                    while index < bytes.count && bytes[index] != UInt8(ascii: "<") { index += 1 }
                    text += Array(try decodeEntities(bytes[start..<index]).utf8)
                } else if hasPrefix("</") {
                    index += 2
                    let closing = try name()
                    skipSpaces()
                    guard closing == node.name, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                        throw fail("</\(closing)> does not close <\(node.name)>")
                    }
                    index += 1
                    node.text = String(decoding: text, as: UTF8.self)
                    return node
                } else if hasPrefix("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    text += bytes[start..<index - 3]
                } else if hasPrefix("<!--") {
                    try skip(past: "-->")
                } else if hasPrefix("<?") {
                    try skip(past: "?>")
                } else {
                    node.children.append(try element())
                }
            }
        }

        func decodeEntities(_ slice: ArraySlice<UInt8>) throws -> String {
            guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
            var out: [UInt8] = []
            var i = slice.startIndex
            while i < slice.endIndex {
                guard slice[i] == UInt8(ascii: "&") else {
                    out.append(slice[i])
                    i += 1
                    continue
                }
                guard let semicolon = slice[i...].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 10 else {
                    throw fail("unterminated entity")
                }
                let entity = String(decoding: slice[(i + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    let scalarValue: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalarValue = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        scalarValue = UInt32(entity.dropFirst(), radix: 10)
                    } else {
                        scalarValue = nil
                    }
                    guard let value = scalarValue, let scalar = Unicode.Scalar(value) else {
                        throw fail("unknown entity &\(entity);")
                    }
                    out += Array(String(Character(scalar)).utf8)
                }
                i = semicolon + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
