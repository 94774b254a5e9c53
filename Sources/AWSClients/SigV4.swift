import Crypto
import Foundation

/// Signs HTTP requests with AWS Signature Version 4 for one service and region.
///
/// A pure function of its inputs (method, URL, headers, body, credentials and the signing time): it adds
/// `x-amz-date`, `x-amz-security-token` (for temporary credentials) and `authorization`, byte for byte as
/// botocore does for the same request, which the differential test checks. Payloads are always hashed.
public struct SigV4Signer: Sendable {
    /// The signing name, e.g. `dynamodb`, `ec2`, `sqs`, `iam`.
    public let service: String
    public let region: String

    public init(service: String, region: String) {
        self.service = service
        self.region = region
    }

    /// Headers that are never signed: hop-by-hop headers and those proxies or clients rewrite.
    static let unsignedHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization",
    ]

    /// The parts of a signature, exposed for tests and debugging (never logged: the canonical request
    /// contains the session token).
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        /// The request's headers with the added ones, in order: the original headers (minus any old
        /// `x-amz-date`, `x-amz-security-token` and `authorization`), then those three.
        public var headers: [(name: String, value: String)]
    }

    /// Signs a request.
    /// - Parameters:
    ///   - url: the full URL as it will be sent: `scheme://host[:port]/path?query`, path and query already
    ///     percent-encoded (see ``SigV4Signer/encode(_:)``).
    ///   - headers: the headers to send, in order; repeated names are allowed. `host` is added to the
    ///     signature from the URL when absent (the HTTP client must send the same value).
    public func sign(
        method: String,
        url: String,
        headers: [(name: String, value: String)],
        body: some Collection<UInt8>,
        credentials: AWSCredentials,
        date: Date
    ) throws -> Signature {
        guard let parts = URLParts(url) else {
            throw AWSError(
                code: .invalidRequest,
                service: service,
                message: "cannot sign a request to '\(url)': not an absolute http(s) URL"
            )
        }
        let timestamp = Self.timestamp(date)
        let day = String(timestamp.prefix(8))
        var outgoing = headers.filter {
            let name = $0.name.lowercased()
            return name != "x-amz-date" && name != "authorization"
                && !(name == "x-amz-security-token" && credentials.sessionToken != nil)
        }
        outgoing.append((name: "X-Amz-Date", value: timestamp))
        if let token = credentials.sessionToken { outgoing.append((name: "X-Amz-Security-Token", value: token)) }

        // Canonical headers: lower-cased names, values trimmed and inner whitespace runs collapsed, repeated
        // names joined with commas in the order sent, sorted by name.
        var grouped: [String: [String]] = [:]
        var payloadHashHeader: String?
        for (name, value) in outgoing {
            let lower = name.lowercased()
            if lower == "x-amz-content-sha256" { payloadHashHeader = value }
            guard !Self.unsignedHeaders.contains(lower) else { continue }
            grouped[lower, default: []].append(Self.collapseWhitespace(value))
        }
        if grouped["host"] == nil { grouped["host"] = [parts.hostHeader] }
        let names = grouped.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let canonicalHeaders = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let payloadHash = payloadHashHeader ?? Self.hex(SHA256.hash(data: Array(body)))

        let canonicalRequest = [
            method.uppercased(),
            Self.canonicalPath(parts.path),
            Self.canonicalQuery(parts.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        outgoing.append((name: "Authorization", value: authorization))
        return Signature(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            authorization: authorization,
            headers: outgoing
        )
    }

    // MARK: Canonical forms

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// The path with dot segments and empty segments removed, then percent-encoded again (so an encoded
    /// `%2F` in the sent path becomes `%252F`), as every service but S3 expects.
    static func canonicalPath(_ path: String) -> String {
        let normalized: String
        if path.isEmpty {
            normalized = "/"
        } else {
            var output: [Substring] = []
            for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
                if segment.isEmpty || segment == "." { continue }
                if segment == ".." {
                    if !output.isEmpty { output.removeLast() }
                } else {
                    output.append(segment)
                }
            }
            let first = path.hasPrefix("/") ? "/" : ""
            let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
            normalized = first + output.joined(separator: "/") + last
        }
        return percentEncode(normalized, keepSlash: true)
    }

    /// The query pairs as sent (already encoded), sorted by key then value, a missing `=` read as empty.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs: [(String, String)] = query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            if let equals = pair.firstIndex(of: "=") {
                return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
            }
            return (String(pair), "")
        }
        return pairs.sorted { a, b in
            let ka = Array(a.0.utf8)
            let kb = Array(b.0.utf8)
            if ka != kb { return ka.lexicographicallyPrecedes(kb) }
            return Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Trims the value and turns each run of whitespace inside it into one space.
    static func collapseWhitespace(_ value: String) -> String {
        // The same bytes Python's str.split() treats as whitespace in ASCII, which botocore relies on.
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F]
        return Array(value.utf8).split(whereSeparator: { whitespace.contains($0) })
            .map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// Percent-encodes everything but the unreserved characters `A-Z a-z 0-9 - _ . ~` (and `/` when asked):
    /// the encoding SigV4 requires for query keys and values and path segments.
    public static func percentEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hexDigits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte & 0xF)]))
            }
        }
        return out
    }

    /// `name=value` pairs encoded with ``percentEncode(_:keepSlash:)`` and joined with `&`, in the given order:
    /// for query strings and `application/x-www-form-urlencoded` bodies.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    /// An `application/x-www-form-urlencoded` body as botocore sends Query-protocol requests: like
    /// ``encode(_:)`` but a space becomes `+`. Services (and moto, which re-encodes the parsed form to check
    /// the signature) expect exactly this form.
    public static func formEncode(_ pairs: [(String, String)]) -> String {
        func plus(_ text: String) -> String { percentEncode(text).replacingOccurrences(of: "%20", with: "+") }
        return pairs.map { "\(plus($0.0))=\(plus($0.1))" }.joined(separator: "&")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The pieces of an absolute URL the signer needs, split without re-encoding anything.
struct URLParts {
    var scheme: String
    var host: String
    var port: Int?
    var path: String
    var query: String

    init?(_ url: String) {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let afterAuthority = rest[authorityEnd...]
        if let question = afterAuthority.firstIndex(of: "?") {
            path = String(afterAuthority[..<question])
            query = String(afterAuthority[afterAuthority.index(after: question)...])
        } else {
            path = String(afterAuthority)
            query = ""
        }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[...close]).lowercased()
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? Int(after.dropFirst()) : nil
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon].lowercased()
            guard let parsed = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = parsed
        } else {
            host = authority.lowercased()
            port = nil
        }
        guard !host.isEmpty else { return nil }
    }

    /// The Host header value: the host, with the port only when it is not the scheme's default.
    var hostHeader: String {
        if let port, !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
            return "\(host):\(port)"
        }
        return host
    }
}
