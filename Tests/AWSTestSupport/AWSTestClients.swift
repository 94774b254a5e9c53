// AWSTestSupport: what the suites that call AWS peers (moto, scripted EC2) share. Apart from BallastTestSupport so
// that only those suites build the AWS clients.
import AWSClients
import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging

/// Builds an `AWSClient` signed with `accessKeyID`/`secret` and pointed at `endpoint` for every service the tests
/// use, runs `body`, and shuts the HTTP client down afterwards. Retries do not sleep (the real backoff is tested in
/// RetryPolicyTests); `configure` changes anything else.
public func withAWSClient<T: Sendable>(
    endpoint: String,
    region: String = "us-east-1",
    accessKeyID: String = "AKIDEXAMPLE",
    secret: String = "secret",
    configure: (inout AWSClient.Configuration) -> Void = { _ in },
    _ body: (AWSClient) async throws -> T
) async throws -> T {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    var configuration = AWSClient.Configuration(region: region)
    for service in ["dynamodb", "ec2", "sqs", "iam"] { configuration.endpoints[service] = endpoint }
    configuration.sleep = { _ in }
    configure(&configuration)
    let client = AWSClient(
        httpClient: http,
        credentialsProvider: StaticCredentialsProvider(
            AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret)
        ),
        configuration: configuration,
        logger: Logger(label: "test.aws")
    )
    do {
        let result = try await body(client)
        try await http.shutdown()
        return result
    } catch {
        try await http.shutdown()
        throw error
    }
}

/// The same, signed with the moto fixture's key (or `secret` instead, to be refused).
public func withAWSClient<T: Sendable>(
    for moto: MotoServer,
    secret: String? = nil,
    configure: (inout AWSClient.Configuration) -> Void = { _ in },
    _ body: (AWSClient) async throws -> T
) async throws -> T {
    try await withAWSClient(
        endpoint: moto.endpoint,
        region: moto.region,
        accessKeyID: moto.accessKeyID,
        secret: secret ?? moto.secretAccessKey,
        configure: configure,
        body
    )
}

/// A name unique within the run, so tests sharing a suite's moto server never collide.
public func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
