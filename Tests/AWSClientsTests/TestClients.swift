import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging

@testable import AWSClients

/// Builds an `AWSClient` signed with the moto fixture's key and pointed at its endpoint for every service,
/// runs `body`, and shuts the HTTP client down afterwards.
func withClient<T: Sendable>(
    for moto: MotoServer,
    secret: String? = nil,
    configure: (inout AWSClient.Configuration) -> Void = { _ in },
    _ body: (AWSClient) async throws -> T
) async throws -> T {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    var configuration = AWSClient.Configuration(region: moto.region)
    for service in ["dynamodb", "ec2", "sqs", "iam"] { configuration.endpoints[service] = moto.endpoint }
    // Keep retries fast: the real backoff is tested in RetryPolicyTests.
    configuration.sleep = { _ in }
    configure(&configuration)
    let client = AWSClient(
        httpClient: http,
        credentialsProvider: StaticCredentialsProvider(
            AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: secret ?? moto.secretAccessKey)
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

/// A name unique within the run, so tests sharing a suite's moto server never collide.
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
