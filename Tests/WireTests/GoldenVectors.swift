import Foundation

/// The hex blocks of docs/wire.md, by name: the tests decode and re-encode exactly what the document shows.
enum GoldenVectors {
    static let documentURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/wire.md")

    /// Every fenced block opened with "```hex NAME", as bytes.
    static func load() throws -> [String: [UInt8]] {
        let text = try String(contentsOf: documentURL, encoding: .utf8)
        var vectors: [String: [UInt8]] = [:]
        var current: (name: String, bytes: [UInt8])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let block = current {
                if line.hasPrefix("```") {
                    vectors[block.name] = block.bytes
                    current = nil
                } else {
                    for token in line.split(separator: " ") {
                        guard let byte = UInt8(token, radix: 16) else {
                            throw VectorError(message: "bad hex \(token) in \(block.name)")
                        }
                        current?.bytes.append(byte)
                    }
                }
            } else if line.hasPrefix("```hex ") {
                current = (String(line.dropFirst("```hex ".count)), [])
            }
        }
        return vectors
    }

    struct VectorError: Error { var message: String }
}
