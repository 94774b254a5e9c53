import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import AWSClients

@Suite("Credentials")
struct CredentialsTests {
    let logger = Logger(label: "test.credentials")

    /// Writes files into a fresh temporary directory and returns their paths.
    func files(_ contents: [String: String]) throws -> [String: String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-creds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var paths: [String: String] = [:]
        for (name, text) in contents {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths[name] = path
        }
        return paths
    }

    @Test("description, debugDescription and dump never show the secret or the token")
    func redaction() {
        let credentials = AWSCredentials(
            accessKeyID: "AKIAABCDEFGH1234",
            secretAccessKey: "SECRET-very-secret",
            sessionToken: "TOKEN-very-secret"
        )
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials),
            dumped,
        ] {
            #expect(!text.contains("SECRET-very-secret"))
            #expect(!text.contains("TOKEN-very-secret"))
            #expect(!text.contains("AKIAABCDEFGH"))
            #expect(text.contains("1234"))
        }
    }

    @Test("environment variables give the key, secret and session token")
    func environment() async throws {
        let found = try await EnvironmentCredentialsProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
        ]).credentials(logger: logger)
        #expect(found == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: "t"))
        #expect(try await EnvironmentCredentialsProvider(environment: [:]).credentials(logger: logger) == nil)
        let half = await #expect(throws: AWSError.self) {
            try await EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": "AKID"]).credentials(
                logger: logger
            )
        }
        #expect(half?.code == .noCredentials)
    }

    @Test("profiles come from the credentials file first, then the config file's [profile x] section")
    func profiles() async throws {
        let paths = try files([
            "credentials": """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = default-secret

            # a comment
            [ops]
            aws_access_key_id=AKIDOPS
            aws_secret_access_key = ops-secret
            aws_session_token = ops-token
            """,
            "config": """
            [default]
            region = us-east-1
            [profile ops]
            aws_access_key_id = AKIDIGNORED
            region = eu-west-1
            [profile cfgonly]
            aws_access_key_id = AKIDCFG
            aws_secret_access_key = cfg-secret
            s3 =
              max_concurrent_requests = 2
            [profile role]
            role_arn = arn:aws:iam::123456789012:role/x
            [profile broken]
            aws_secret_access_key = broken-secret-value
            """,
        ])
        func resolve(_ profile: String?) async throws -> AWSCredentials? {
            var environment = [
                "AWS_SHARED_CREDENTIALS_FILE": paths["credentials"]!, "AWS_CONFIG_FILE": paths["config"]!,
            ]
            environment["AWS_PROFILE"] = profile
            return try await ProfileCredentialsProvider(environment: environment).credentials(logger: logger)
        }
        #expect(try await resolve(nil) == AWSCredentials(accessKeyID: "AKIDDEFAULT", secretAccessKey: "default-secret"))
        #expect(
            try await resolve("ops")
                == AWSCredentials(accessKeyID: "AKIDOPS", secretAccessKey: "ops-secret", sessionToken: "ops-token")
        )
        #expect(try await resolve("cfgonly") == AWSCredentials(accessKeyID: "AKIDCFG", secretAccessKey: "cfg-secret"))
        for profile in ["missing", "role", "broken"] {
            let error = await #expect(throws: AWSError.self) { try await resolve(profile) }
            #expect(error?.code == .noCredentials)
            #expect(error?.description.contains("broken-secret-value") == false)
        }
        let none = try await ProfileCredentialsProvider(environment: [
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "AWS_CONFIG_FILE": "/nonexistent/config",
        ]).credentials(logger: logger)
        #expect(none == nil)
    }

    @Test("the chain takes the environment before the files, and the files when the environment is empty")
    func chainOrder() async throws {
        let paths = try files(["credentials": "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f\n"])
        let base = ["AWS_SHARED_CREDENTIALS_FILE": paths["credentials"]!, "AWS_CONFIG_FILE": "/nonexistent"]
        let withEnv = CredentialsProviderChain([
            EnvironmentCredentialsProvider(
                environment: base.merging(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"]) { a, _ in a }
            ),
            ProfileCredentialsProvider(environment: base),
        ])
        #expect(try await withEnv.credentials(logger: logger)?.accessKeyID == "AKIDENV")
        let fileOnly = CredentialsProviderChain([
            EnvironmentCredentialsProvider(environment: base), ProfileCredentialsProvider(environment: base),
        ])
        #expect(try await fileOnly.credentials(logger: logger)?.accessKeyID == "AKIDFILE")
        // Resolved once: a later change of the file does not reach a running chain (as with the CLI).
        try "[default]\naws_access_key_id = AKIDCHANGED\naws_secret_access_key = c\n".write(
            toFile: paths["credentials"]!,
            atomically: true,
            encoding: .utf8
        )
        #expect(try await fileOnly.credentials(logger: logger)?.accessKeyID == "AKIDFILE")
        let fresh = CredentialsProviderChain([ProfileCredentialsProvider(environment: base)])
        #expect(try await fresh.credentials(logger: logger)?.accessKeyID == "AKIDCHANGED")
    }

    // MARK: IMDSv2

    static func roleDocument(_ id: String, expiration: String) -> String {
        #"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"\#(id)","SecretAccessKey":"imds-secret-\#(id)","Token":"imds-token-\#(id)","Expiration":"\#(expiration)","LastUpdated":"2026-01-01T00:00:00Z"}"#
    }

    @Test("instance metadata: token first, then role and credentials; cached, and refreshed five minutes before expiry")
    func instanceMetadata() async throws {
        let routes: [String: [ScriptedHTTPServer.Reply]] = [
            "PUT /latest/api/token": [.init(body: "imds-session-token")],
            "GET /latest/meta-data/iam/security-credentials/": [.init(body: "ballast-node\n")],
            "GET /latest/meta-data/iam/security-credentials/ballast-node": [
                .init(body: Self.roleDocument("ASIAFIRST", expiration: "2026-01-01T01:00:00Z")),
                .init(body: Self.roleDocument("ASIASECOND", expiration: "2026-01-01T02:00:00Z")),
            ],
        ]
        try await ScriptedHTTPServer.with(routes: routes) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let clock = Mutex(Date(timeIntervalSince1970: 1_767_225_600))  // 2026-01-01T00:00:00Z
            let provider = InstanceMetadataCredentialsProvider(
                httpClient: http,
                configuration: .init(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint + "/"]),
                now: { clock.withLock { $0 } }
            )
            let chain = CredentialsProviderChain.standard(environment: ["HOME": "/nonexistent"], metadata: provider)
            let first = try await chain.credentials(logger: logger)
            #expect(first?.accessKeyID == "ASIAFIRST")
            #expect(first?.sessionToken == "imds-token-ASIAFIRST")
            #expect(first?.expiration == Date(timeIntervalSince1970: 1_767_225_600 + 3600))
            clock.withLock { $0 += 50 * 60 }  // 10 minutes before expiry: still cached
            #expect(try await chain.credentials(logger: logger)?.accessKeyID == "ASIAFIRST")
            clock.withLock { $0 += 6 * 60 }  // 4 minutes before expiry: refreshed
            #expect(try await chain.credentials(logger: logger)?.accessKeyID == "ASIASECOND")

            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let recorded = try ScriptedHTTPServer.decodeRecorded(
                Data((try await log.body.collect(upTo: 1 << 20)).readableBytesView)
            )
            try await http.shutdown()
            #expect(
                recorded.map { "\($0.method) \($0.path)" } == [
                    "PUT /latest/api/token",
                    "GET /latest/meta-data/iam/security-credentials/",
                    "GET /latest/meta-data/iam/security-credentials/ballast-node",
                    "GET /latest/meta-data/iam/security-credentials/",
                    "GET /latest/meta-data/iam/security-credentials/ballast-node",
                ]
            )
            #expect(recorded[0].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
            #expect(recorded.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == "imds-session-token" })
        }
    }

    @Test("concurrent callers share one metadata fetch")
    func metadataCoalesced() async throws {
        let routes: [String: [ScriptedHTTPServer.Reply]] = [
            "PUT /latest/api/token": [.init(body: "t")],
            "GET /latest/meta-data/iam/security-credentials/": [.init(body: "role")],
            "GET /latest/meta-data/iam/security-credentials/role": [
                .init(body: Self.roleDocument("ASIAONCE", expiration: "2099-01-01T00:00:00Z"))
            ],
        ]
        try await ScriptedHTTPServer.with(routes: routes) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = InstanceMetadataCredentialsProvider(
                httpClient: http,
                configuration: .init(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint])
            )
            let logger = self.logger
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<8 { group.addTask { try await provider.credentials(logger: logger)?.accessKeyID } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(ids == Array(repeating: "ASIAONCE", count: 8))
            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let recorded = try ScriptedHTTPServer.decodeRecorded(
                Data((try await log.body.collect(upTo: 1 << 20)).readableBytesView)
            )
            try await http.shutdown()
            #expect(recorded.count == 3)
        }
    }

    @Test("no metadata service answering means no credentials from it, and the chain says what to set")
    func metadataUnreachable() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let port = try FreePort.next()  // nothing listens there
        let provider = InstanceMetadataCredentialsProvider(
            httpClient: http,
            configuration: .init(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"])
        )
        let found = try await provider.credentials(logger: logger)
        #expect(found == nil)
        var configuration = AWSClient.Configuration(
            region: "us-east-1",
            endpoints: ["dynamodb": "http://127.0.0.1:\(port)"]
        )
        configuration.sleep = { _ in }
        let client = AWSClient(
            httpClient: http,
            credentialsProvider: CredentialsProviderChain.standard(
                environment: ["HOME": "/nonexistent"],
                metadata: provider
            ),
            configuration: configuration,
            logger: logger
        )
        let error = await #expect(throws: AWSError.self) { try await DynamoDB(client: client).describeTable("t") }
        #expect(error?.code == .noCredentials)
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
        try await http.shutdown()
    }
}
