import AWSClients
import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging

/// Builds an `AWSClient` signed with `accessKeyID`/`secret` and pointed at `endpoint` for EC2 and SQS, runs
/// `body`, and shuts the HTTP client down afterwards. Retries do not sleep.
func withAWSClient<T: Sendable>(
    endpoint: String,
    region: String = "us-east-1",
    accessKeyID: String = "AKIDEXAMPLE",
    secret: String = "secret",
    _ body: (AWSClient) async throws -> T
) async throws -> T {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    var configuration = AWSClient.Configuration(region: region)
    for service in ["ec2", "sqs"] { configuration.endpoints[service] = endpoint }
    configuration.sleep = { _ in }
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

/// The same, signed with the moto fixture's key.
func withAWSClient<T: Sendable>(for moto: MotoServer, _ body: (AWSClient) async throws -> T) async throws -> T {
    try await withAWSClient(
        endpoint: moto.endpoint,
        region: moto.region,
        accessKeyID: moto.accessKeyID,
        secret: moto.secretAccessKey,
        body
    )
}

/// The requests a scripted server recorded.
func recordedRequests(_ server: ScriptedHTTPServer) async throws -> [ScriptedHTTPServer.Recorded] {
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let log = try await http.execute(HTTPClientRequest(url: server.endpoint + "/__requests"), timeout: .seconds(5))
        let body = try await log.body.collect(upTo: 1 << 20)
        try await http.shutdown()
        return try ScriptedHTTPServer.decodeRecorded(Data(body.readableBytesView))
    } catch {
        try await http.shutdown()
        throw error
    }
}

/// A name unique within the run, so tests sharing a suite's moto server never collide.
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

/// Decodes a form-encoded body into its pairs.
func formPairs(_ body: String) -> [String: String] {
    var pairs: [String: String] = [:]
    for pair in body.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map {
            String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
        }
        pairs[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return pairs
}
