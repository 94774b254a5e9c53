import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import AWSClients

@Suite("Standard retry mode")
struct RetryPolicyTests {
    let policy = RetryPolicy()

    func error(_ code: AWSError.Code, status: Int? = nil) -> AWSError {
        AWSError(code: code, httpStatus: status, message: "test")
    }

    @Test("backoff doubles from the base, is capped, and scales with the jitter")
    func backoff() {
        #expect(policy.backoff(attempt: 1, jitter: 1) == .seconds(1))
        #expect(policy.backoff(attempt: 2, jitter: 1) == .seconds(2))
        #expect(policy.backoff(attempt: 3, jitter: 0.5) == .seconds(2))
        #expect(policy.backoff(attempt: 10, jitter: 1) == .seconds(20))
        #expect(policy.backoff(attempt: 64, jitter: 1) == .seconds(20))
        #expect(policy.backoff(attempt: 2, jitter: 0) == .zero)
    }

    @Test("throttling, 5xx and transport failures are retried until the attempts run out")
    func retryable() {
        #expect(policy.decide(after: error(.throttled), attempt: 1, jitter: 1) == .retry(after: .seconds(1)))
        #expect(policy.decide(after: error(.transport), attempt: 2, jitter: 1) == .retry(after: .seconds(2)))
        #expect(
            policy.decide(
                after: error(.service(code: "InternalServerError", message: ""), status: 500),
                attempt: 1,
                jitter: 1
            )
                == .retry(after: .seconds(1))
        )
        #expect(
            policy.decide(after: error(.service(code: "X", message: ""), status: 503), attempt: 1, jitter: 0)
                == .retry(after: .zero)
        )
        #expect(policy.decide(after: error(.throttled), attempt: 3, jitter: 1) == .giveUp)
    }

    @Test("client, auth and condition failures are final")
    func final() {
        for code: AWSError.Code in [
            .conditionalCheckFailed, .accessDenied, .authenticationFailed, .resourceNotFound, .insufficientCapacity,
            .noCredentials, .service(code: "ValidationException", message: ""),
        ] {
            #expect(policy.decide(after: error(code, status: 400), attempt: 1, jitter: 1) == .giveUp)
        }
    }

    @Test("the retry quota runs dry and refills with successes")
    func quota() {
        let quota = RetryQuota()
        var granted = 0
        while quota.acquire(for: error(.throttled)) { granted += 1 }
        #expect(granted == RetryQuota.capacity / RetryQuota.retryCost)
        for _ in 0..<5 { quota.recordSuccess() }
        #expect(quota.acquire(for: error(.throttled)))
        #expect(!quota.acquire(for: error(.transport)))
    }

    // MARK: Against a scripted peer

    static let throttled = ScriptedHTTPServer.Reply(
        status: 400,
        headers: ["x-amzn-RequestId": "req-throttle"],
        body:
            #"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#
    )
    static let unavailable = ScriptedHTTPServer.Reply(
        status: 503,
        body: #"{"__type":"ServiceUnavailable","message":"try later"}"#
    )
    static let found = ScriptedHTTPServer.Reply(
        status: 200,
        headers: ["x-amzn-RequestId": "req-ok"],
        body: #"{"Item":{"pk":{"S":"a"}}}"#
    )

    /// Runs a DynamoDB GetItem against a scripted peer, recording the waits instead of sleeping.
    func getItem(
        replies: [ScriptedHTTPServer.Reply],
        metrics: TestMetrics = TestMetrics()
    ) async throws -> (Result<DynamoDB.GetItemOutput, AWSError>, [Duration], Int) {
        try await ScriptedHTTPServer.with(routes: ["POST /": replies]) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let sleeps = Mutex<[Duration]>([])
            var configuration = AWSClient.Configuration(region: "us-east-1", endpoints: ["dynamodb": server.endpoint])
            configuration.sleep = { duration in sleeps.withLock { $0.append(duration) } }
            configuration.jitter = { 0.5 }
            configuration.metricsFactory = metrics
            let client = AWSClient(
                httpClient: http,
                credentialsProvider: StaticCredentialsProvider(.init(accessKeyID: "AKID", secretAccessKey: "secret")),
                configuration: configuration,
                logger: Logger(label: "test")
            )
            let result: Result<DynamoDB.GetItemOutput, AWSError>
            do {
                result = .success(
                    try await DynamoDB(client: client).getItem(.init(tableName: "t", key: ["pk": .string("a")]))
                )
            } catch let error as AWSError {
                result = .failure(error)
            }
            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let recorded = try ScriptedHTTPServer.decodeRecorded(
                Data((try await log.body.collect(upTo: 1 << 20)).readableBytesView)
            )
            try await http.shutdown()
            return (result, sleeps.withLock { $0 }, recorded.count)
        }
    }

    @Test("a throttled then unavailable call succeeds on the third attempt after two jittered waits")
    func recovers() async throws {
        let (result, sleeps, requests) = try await getItem(replies: [Self.throttled, Self.unavailable, Self.found])
        #expect(try result.get().item == ["pk": .string("a")])
        #expect(sleeps == [.milliseconds(500), .seconds(1)])
        #expect(requests == 3)
    }

    @Test("metrics count every attempt by outcome, each retry, and a call that failed for good by its code")
    func metrics() async throws {
        let recovering = TestMetrics()
        _ = try await getItem(replies: [Self.throttled, Self.unavailable, Self.found], metrics: recovering)
        let call = [("service", "dynamodb"), ("operation", "GetItem")]
        for outcome in ["throttled", "ServiceUnavailable", "ok"] {
            #expect(
                recovering.counterTotal(label: "ballast_aws_attempts_total", dimensions: call + [("outcome", outcome)])
                    == 1,
                "attempts with outcome \(outcome)"
            )
        }
        #expect(recovering.counterTotal(label: "ballast_aws_retries_total") == 2)
        #expect(recovering.counterTotal(label: "ballast_aws_failures_total") == 0)
        #expect(try recovering.expectTimer("ballast_aws_attempt_duration_seconds", call).values.count == 3)

        let exhausted = TestMetrics()
        _ = try await getItem(replies: [Self.throttled], metrics: exhausted)
        #expect(exhausted.counterTotal(label: "ballast_aws_attempts_total") == 3)
        #expect(exhausted.counterTotal(label: "ballast_aws_retries_total") == 2)
        #expect(
            exhausted.counterTotal(label: "ballast_aws_failures_total", dimensions: call + [("code", "throttled")]) == 1
        )
    }

    @Test("a call that stays throttled fails after three attempts with the service's code, message and request id")
    func exhausts() async throws {
        let (result, sleeps, requests) = try await getItem(replies: [Self.throttled])
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .throttled)
        #expect(error.serviceCode == "ThrottlingException")
        #expect(error.message == "Rate of requests exceeds the allowed throughput.")
        #expect(error.requestID == "req-throttle")
        #expect(error.httpStatus == 400)
        #expect(error.attempts == 3)
        #expect(error.operation == "GetItem")
        #expect(sleeps.count == 2)
        #expect(requests == 3)
    }

    @Test("a validation error is not retried")
    func validationIsFinal() async throws {
        let invalid = ScriptedHTTPServer.Reply(
            status: 400,
            body: #"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}"#
        )
        let (result, sleeps, requests) = try await getItem(replies: [invalid, Self.found])
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .service(code: "ValidationException", message: "bad key"))
        #expect(sleeps.isEmpty)
        #expect(requests == 1)
    }

    @Test("a dropped connection is a transport error and is retried")
    func transportRetried() async throws {
        let (result, sleeps, requests) = try await getItem(replies: [.init(dropConnection: true), Self.found])
        #expect(try result.get().item != nil)
        #expect(sleeps == [.milliseconds(500)])
        #expect(requests == 2)
    }
}
