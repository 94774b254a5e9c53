import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import AWSClients

@Suite("Logging")
struct LoggingTests {
    @Test("logs carry service, operation and request id, and never secrets, tokens or bodies")
    func noSecretsInLogs() async throws {
        let secret = "SECRET-\(UUID().uuidString)"
        let token = "TOKEN-\(UUID().uuidString)"
        let replies: [ScriptedHTTPServer.Reply] = [
            .init(
                status: 500,
                headers: ["x-amzn-RequestId": "req-500"],
                body: #"{"__type":"InternalServerError","message":"MESSAGE-MARKER"}"#
            ),
            .init(
                status: 200,
                headers: ["x-amzn-RequestId": "req-200"],
                body: #"{"Item":{"payload":{"S":"BODY-MARKER"}}}"#
            ),
        ]
        try await ScriptedHTTPServer.with(routes: ["POST /": replies]) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let logs = LogCapture()
            var configuration = AWSClient.Configuration(region: "us-east-1", endpoints: ["dynamodb": server.endpoint])
            configuration.sleep = { _ in }
            let client = AWSClient(
                httpClient: http,
                credentialsProvider: CredentialsProviderChain([
                    EnvironmentCredentialsProvider(environment: [
                        "AWS_ACCESS_KEY_ID": "AKIALOGTEST", "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
                    ])
                ]),
                configuration: configuration,
                logger: Logger(label: "unused")
            ).logging(
                to: {
                    var logger = logs.logger(level: .trace)
                    logger[metadataKey: "ballast.cluster"] = "c1"
                    return logger
                }()
            )
            let output = try await DynamoDB(client: client).getItem(
                .init(tableName: "t", key: ["pk": .string("REQUEST-MARKER")], consistentRead: true)
            )
            try await http.shutdown()
            #expect(output.item?["payload"] == .string("BODY-MARKER"))
            let lines = logs.lines.withLock { $0.map(\.description) }
            #expect(!lines.isEmpty)
            for line in lines {
                for forbidden in [secret, token, "BODY-MARKER", "REQUEST-MARKER", "MESSAGE-MARKER", "AKIALOGTEST"] {
                    #expect(!line.contains(forbidden), "log line leaks \(forbidden): \(line)")
                }
            }
            let all = logs.lines.withLock { $0.map(\.metadata) }
            #expect(all.allSatisfy { $0["aws.service"] == "dynamodb" && $0["aws.operation"] == "GetItem" })
            #expect(all.allSatisfy { $0["ballast.cluster"] == "c1" })
            #expect(all.contains { $0["aws.request-id"] == "req-500" })
            #expect(all.contains { $0["aws.request-id"] == "req-200" })
        }
    }
}
