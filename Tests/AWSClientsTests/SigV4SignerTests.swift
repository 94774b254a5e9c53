import BallastTestSupport
import Foundation
import Testing

@testable import AWSClients

@Suite("SigV4 signer")
struct SigV4SignerTests {
    let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    )

    @Test("signs the AWS test-suite get-vanilla request to the published signature")
    func publishedVector() throws {
        // From the AWS SigV4 test suite ("get-vanilla"): service "service", region us-east-1, 20150830T123600Z.
        let signer = SigV4Signer(service: "service", region: "us-east-1")
        let signed = try signer.sign(
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: [],
            body: [UInt8](),
            credentials: credentials,
            date: Date(timeIntervalSince1970: 1_440_938_160)
        )
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    }

    @Test("canonical path removes dot and empty segments and encodes again")
    func canonicalPath() {
        #expect(SigV4Signer.canonicalPath("") == "/")
        #expect(SigV4Signer.canonicalPath("/a/./b/../c//d/") == "/a/c/d/")
        #expect(SigV4Signer.canonicalPath("/a%2Fb") == "/a%252Fb")
        #expect(SigV4Signer.canonicalPath("/..") == "/")
    }

    @Test("canonical query sorts by key then value and keeps the sent encoding")
    func canonicalQuery() {
        #expect(SigV4Signer.canonicalQuery("b=2&a=3&a=1&c") == "a=1&a=3&b=2&c=")
        #expect(SigV4Signer.canonicalQuery("") == "")
    }

    @Test("header values are trimmed and inner whitespace runs collapse to one space")
    func whitespace() {
        #expect(SigV4Signer.collapseWhitespace("  a   b \t c  ") == "a b c")
        #expect(SigV4Signer.collapseWhitespace("   ") == "")
    }

    @Test("a session token is sent and signed")
    func sessionToken() throws {
        let signer = SigV4Signer(service: "dynamodb", region: "eu-west-1")
        let temporary = AWSCredentials(accessKeyID: "ASIAEXAMPLE", secretAccessKey: "s", sessionToken: "token/+=")
        let signed = try signer.sign(
            method: "POST",
            url: "https://dynamodb.eu-west-1.amazonaws.com/",
            headers: [],
            body: Array("{}".utf8),
            credentials: temporary,
            date: Date(timeIntervalSince1970: 0)
        )
        #expect(signed.headers.contains { $0.name == "X-Amz-Security-Token" && $0.value == "token/+=" })
        #expect(signed.authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
    }

    @Test("a URL that is not absolute http(s) is refused with invalidRequest")
    func badURL() {
        let signer = SigV4Signer(service: "sqs", region: "us-east-1")
        #expect(throws: AWSError.self) {
            try signer.sign(
                method: "GET",
                url: "ftp://x/",
                headers: [],
                body: [UInt8](),
                credentials: credentials,
                date: Date()
            )
        }
    }

    // MARK: Differential test against botocore

    /// Reads JSON lines of requests on stdin and prints botocore's Authorization header for each, with the
    /// clock fixed to each request's timestamp.
    static let botocoreSigner = """
        import base64, datetime, json, sys
        import botocore.auth
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        for line in sys.stdin:
            r = json.loads(line)
            ts = datetime.datetime.fromtimestamp(r["epoch"], datetime.timezone.utc).replace(tzinfo=None)
            botocore.auth.get_current_datetime = lambda ts=ts: ts
            req = AWSRequest(method=r["method"], url=r["url"], data=base64.b64decode(r["body"]))
            for name, value in r["headers"]:
                req.headers[name] = value
            creds = Credentials(r["accessKey"], r["secret"], r.get("token"))
            SigV4Auth(creds, r["service"], r["region"]).add_auth(req)
            print(json.dumps(req.headers["Authorization"]))
        """

    struct GeneratedRequest: Encodable {
        var method: String
        var url: String
        var headers: [[String]]
        var body: String
        var accessKey: String
        var secret: String
        var token: String?
        var service: String
        var region: String
        var epoch: Int
    }

    @Test("signs 400 generated requests byte for byte like botocore")
    func differentialAgainstBotocore() async throws {
        var random = SplitMix64(seed: 0xBA11A57)
        var requests: [GeneratedRequest] = []
        for _ in 0..<400 { requests.append(Self.generate(&random)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var input = Data()
        for request in requests {
            input += try encoder.encode(request)
            input += Data("\n".utf8)
        }
        let output = try await runToCompletion("python3", ["-c", Self.botocoreSigner], stdin: input)
        let expected = try String(decoding: output, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(String.self, from: Data($0.utf8))
        }
        try #require(expected.count == requests.count)
        var mismatches = 0
        for (request, botocore) in zip(requests, expected) {
            let ours = try SigV4Signer(service: request.service, region: request.region).sign(
                method: request.method,
                url: request.url,
                headers: request.headers.map { (name: $0[0], value: $0[1]) },
                body: Array(Data(base64Encoded: request.body)!),
                credentials: AWSCredentials(
                    accessKeyID: request.accessKey,
                    secretAccessKey: request.secret,
                    sessionToken: request.token
                ),
                date: Date(timeIntervalSince1970: TimeInterval(request.epoch))
            ).authorization
            if ours != botocore {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record(
                        "\(request.method) \(request.url) \(request.headers)\nours:     \(ours)\nbotocore: \(botocore)"
                    )
                }
            }
        }
        #expect(mismatches == 0)
    }

    static func generate(_ random: inout SplitMix64) -> GeneratedRequest {
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        let service = pick(["dynamodb", "ec2", "sqs", "iam"])
        let region = pick(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
        let host = pick([
            "\(service).\(region).amazonaws.com", "127.0.0.1:4566", "LocalHost:8080",
            "vpce-1a2b.\(service).amazonaws.com:443",
            "example.com:80",
        ])
        let scheme = host.hasSuffix(":443") ? "https" : (host.hasSuffix(":80") ? "http" : pick(["http", "https"]))
        let rawPieces = ["a", "B", "queue name", "ünï", "a/b", "x+y", "~tilde", "%", "2014-11-12", "-_."]
        var path = ""
        for _ in 0..<Int(random.next() % 5) {
            let segment: String
            switch random.next() % 6 {
            case 0: segment = pick([".", "..", ""])
            case 1: segment = pick(["!$&'()*+,;=:@", "a:b@c", "%41%2f"])
            default: segment = SigV4Signer.percentEncode(pick(rawPieces))
            }
            path += "/" + segment
        }
        if chance(20) { path += "/" }
        var query: [String] = []
        for _ in 0..<Int(random.next() % 6) {
            switch random.next() % 5 {
            case 0: query.append(pick(["flag", "a=b=c", "empty=", "Action=DescribeInstances"]))
            default:
                let key = pick(["Action", "Filter.1.Name", "key", "Key", "k ey", "ä", "a", "b"])
                let value = pick(["1", "", "x y", "a+b", "é/€", "*", "2", "Version=2016"])
                query.append(SigV4Signer.percentEncode(key) + "=" + SigV4Signer.percentEncode(value))
            }
        }
        let url = "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        var headers: [[String]] = []
        let names = [
            "Content-Type", "X-Amz-Target", "x-amz-meta-Thing", "X-Custom", "x-custom", "User-Agent", "X-Amzn-Trace-Id",
            "Accept", "Content-Encoding",
        ]
        let values = [
            "application/x-amz-json-1.0", "  leading", "trailing   ", "runs    of     spaces", "tab\tseparated",
            "DynamoDB_20120810.PutItem", "", "a,b", "  mixed \t  white   ",
        ]
        for _ in 0..<Int(random.next() % 6) { headers.append([pick(names), pick(values)]) }
        if chance(15) { headers.append(["Host", host.lowercased()]) }
        let body: [UInt8]
        switch random.next() % 4 {
        case 0: body = []
        case 1: body = Array("{\"TableName\":\"t\"}".utf8)
        case 2: body = Array("Action=RunInstances&Version=2016-11-15".utf8)
        default: body = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+")
        let secret = String((0..<40).map { _ in pick(secretAlphabet) })
        return GeneratedRequest(
            method: pick(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]),
            url: url,
            headers: headers,
            body: Data(body).base64EncodedString(),
            accessKey: pick(["AKIDEXAMPLE", "ASIAXXXXXXXXXXXX"]),
            secret: secret,
            token: chance(40) ? "FwoGZXIvYXdzE" + String((0..<20).map { _ in pick(secretAlphabet) }) : nil,
            service: service,
            region: region,
            epoch: 1_400_000_000 + Int(random.next() % 400_000_000)
        )
    }
}
