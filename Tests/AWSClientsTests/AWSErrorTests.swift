import Foundation
import Testing

@testable import AWSClients

@Suite("AWSError")
struct AWSErrorTests {
    @Test(
        "service codes map to the kinds callers branch on",
        arguments: [
            ("ThrottlingException", AWSError.Code.throttled),
            ("ProvisionedThroughputExceededException", .throttled),
            ("RequestLimitExceeded", .throttled),
            ("ConditionalCheckFailedException", .conditionalCheckFailed),
            ("AccessDeniedException", .accessDenied),
            ("UnauthorizedOperation", .accessDenied),
            ("SignatureDoesNotMatch", .authenticationFailed),
            ("AuthFailure", .authenticationFailed),
            ("UnrecognizedClientException", .authenticationFailed),
            ("ExpiredTokenException", .authenticationFailed),
            ("ResourceNotFoundException", .resourceNotFound),
            ("AWS.SimpleQueueService.NonExistentQueue", .resourceNotFound),
            ("InvalidInstanceID.NotFound", .resourceNotFound),
            ("InsufficientInstanceCapacity", .insufficientCapacity),
            ("SpotMaxPriceTooLow", .spotPriceTooLow),
            ("InvalidParameterValue", .service(code: "InvalidParameterValue", message: "m")),
        ]
    )
    func classify(serviceCode: String, expected: AWSError.Code) {
        #expect(AWSError.classify(serviceCode: serviceCode, message: "m") == expected)
    }

    @Test("the description names the kind, service, operation, status, service code, request id and attempts")
    func description() {
        let error = AWSError(
            code: .throttled,
            service: "dynamodb",
            operation: "PutItem",
            httpStatus: 400,
            serviceCode: "ThrottlingException",
            requestID: "REQ1",
            message: "slow down",
            attempts: 3
        )
        #expect(
            error.description
                == "AWSError(throttled) dynamodb.PutItem HTTP 400 ThrottlingException request id REQ1 after 3 attempts: slow down"
        )
    }

    @Test("only throttling, transient 5xx and transport failures are retryable")
    func retryable() {
        #expect(RetryPolicy.isRetryable(AWSError(code: .throttled, message: "")))
        #expect(RetryPolicy.isRetryable(AWSError(code: .transport, message: "")))
        #expect(
            RetryPolicy.isRetryable(
                AWSError(code: .service(code: "HTTP502", message: ""), httpStatus: 502, message: "")
            )
        )
        #expect(
            !RetryPolicy.isRetryable(AWSError(code: .service(code: "X", message: ""), httpStatus: 501, message: ""))
        )
        #expect(!RetryPolicy.isRetryable(AWSError(code: .spotPriceTooLow, httpStatus: 400, message: "")))
    }
}
