import Foundation

/// A failed AWS call: what kind of failure (`code`, easy to switch on), the service's own error code and
/// message, the HTTP status and request id, and where it happened. Never contains credentials or bodies.
public struct AWSError: Error, Sendable, Equatable {
    /// The kinds of failure callers branch on; everything else is `.service` with the service's code.
    public enum Code: Sendable, Equatable, Hashable {
        /// The service throttled the call (Throttling, ProvisionedThroughputExceeded, RequestLimitExceeded, ...).
        case throttled
        /// A DynamoDB ConditionExpression was false; `AWSError.oldItem` holds the item when it was asked for.
        case conditionalCheckFailed
        /// The credentials are valid but not allowed to do this (AccessDenied, UnauthorizedOperation).
        case accessDenied
        /// The request was not accepted as signed by a known key (SignatureDoesNotMatch, AuthFailure,
        /// InvalidClientTokenId, UnrecognizedClient, ExpiredToken).
        case authenticationFailed
        /// The table, queue or instance does not exist.
        case resourceNotFound
        /// EC2 has no capacity for the requested instance type in that zone (InsufficientInstanceCapacity,
        /// InsufficientHostCapacity, InsufficientCapacity): try another pool.
        case insufficientCapacity
        /// The spot maximum price is below the current spot price (SpotMaxPriceTooLow): try another pool or
        /// on-demand.
        case spotPriceTooLow
        /// Any other error reply; `code` is the service's error code.
        case service(code: String, message: String)
        /// The request never got a reply: connection refused or reset, timeout, DNS.
        case transport
        /// The reply could not be decoded.
        case invalidResponse
        /// No provider in the chain had credentials, or a configured one was incomplete.
        case noCredentials
        /// The request could not be built from the given input (a bad endpoint URL, an unencodable value).
        case invalidRequest
    }

    public var code: Code
    /// The signing name of the service, e.g. `dynamodb`, `ec2`, `sqs`, `imds`.
    public var service: String
    /// The operation, e.g. `PutItem`.
    public var operation: String
    /// The HTTP status of the error reply, if there was one.
    public var httpStatus: Int?
    /// The service's error code as sent (`ConditionalCheckFailedException`, `InvalidParameterValue`), if any.
    public var serviceCode: String?
    /// The request id the service assigned; quote it to AWS support.
    public var requestID: String?
    /// What happened and, where we know, what to do.
    public var message: String
    /// For `.conditionalCheckFailed` with `ReturnValuesOnConditionCheckFailure: ALL_OLD`: the item as it was.
    public var oldItem: [String: AttributeValue]?
    /// For DynamoDB's `TransactionCanceledException`: why each item of the transaction stopped it, in request
    /// order (from the reply's `CancellationReasons`, or else the codes listed in its message).
    public var cancellationReasons: [DynamoDB.CancellationReason]?
    /// How many attempts were made, including the first.
    public var attempts: Int

    public init(
        code: Code,
        service: String = "",
        operation: String = "",
        httpStatus: Int? = nil,
        serviceCode: String? = nil,
        requestID: String? = nil,
        message: String,
        oldItem: [String: AttributeValue]? = nil,
        cancellationReasons: [DynamoDB.CancellationReason]? = nil,
        attempts: Int = 1
    ) {
        self.code = code
        self.service = service
        self.operation = operation
        self.httpStatus = httpStatus
        self.serviceCode = serviceCode
        self.requestID = requestID
        self.message = message
        self.oldItem = oldItem
        self.cancellationReasons = cancellationReasons
        self.attempts = attempts
    }

    /// Maps a service error code to the kind callers branch on.
    public static func classify(serviceCode: String, message: String) -> Code {
        switch serviceCode {
        case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
            "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
            "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
            "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
            "AWS.SimpleQueueService.RequestThrottled":
            return .throttled
        case "ConditionalCheckFailedException":
            return .conditionalCheckFailed
        case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
            return .accessDenied
        case "AuthFailure", "SignatureDoesNotMatch", "InvalidSignatureException", "InvalidClientTokenId",
            "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
            "MissingAuthenticationToken", "InvalidAccessKeyId", "RequestExpired":
            return .authenticationFailed
        case "ResourceNotFoundException", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
            "InvalidInstanceID.NotFound", "NoSuchEntity", "InvalidLaunchTemplateId.NotFound",
            "InvalidLaunchTemplateName.NotFoundException":
            return .resourceNotFound
        case "InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientCapacity",
            "InsufficientReservedInstanceCapacity":
            return .insufficientCapacity
        case "SpotMaxPriceTooLow":
            return .spotPriceTooLow
        default:
            return .service(code: serviceCode, message: message)
        }
    }
}

extension AWSError.Code {
    /// The kind and, for `.service`, the service's code, without its message: service messages can quote
    /// request values, which stay out of logs.
    /// A short, bounded label for metrics: the case name, or the service's own code for `.service`.
    var metricLabel: String {
        switch self {
        case .throttled: "throttled"
        case .conditionalCheckFailed: "conditionalCheckFailed"
        case .accessDenied: "accessDenied"
        case .authenticationFailed: "authenticationFailed"
        case .resourceNotFound: "resourceNotFound"
        case .insufficientCapacity: "insufficientCapacity"
        case .spotPriceTooLow: "spotPriceTooLow"
        case .service(let code, _): code
        case .transport: "transport"
        case .invalidResponse: "invalidResponse"
        case .noCredentials: "noCredentials"
        case .invalidRequest: "invalidRequest"
        }
    }

    var logLabel: String {
        switch self {
        case .service(let code, _): "service(\(code))"
        default: "\(self)"
        }
    }
}

extension AWSError: CustomStringConvertible {
    public var description: String {
        var parts = ["AWSError(\(code))"]
        if !service.isEmpty { parts.append("\(service)\(operation.isEmpty ? "" : ".\(operation)")") }
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let serviceCode { parts.append(serviceCode) }
        if let requestID { parts.append("request id \(requestID)") }
        if attempts > 1 { parts.append("after \(attempts) attempts") }
        return parts.joined(separator: " ") + ": " + message
    }
}

/// Decodes the error reply of a JSON protocol (DynamoDB, SQS JSON) or Query protocol (EC2, IAM, SQS XML)
/// service into its code, message and, for DynamoDB, the old item.
enum ErrorReplyDecoder {
    struct Decoded {
        var code: String?
        var message: String?
        var requestID: String?
        var item: [String: AttributeValue]?
        var cancellationReasons: [DynamoDB.CancellationReason]?
    }

    static func decodeJSON(_ body: Data, queryErrorHeader: String?) -> Decoded {
        var decoded = Decoded()
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            // `__type` is "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" or just the name.
            if let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String {
                decoded.code = type.split(separator: "#").last.map(String.init) ?? type
            }
            decoded.message = (object["message"] ?? object["Message"]) as? String
            if let item = object["Item"] as? [String: Any],
                let data = try? JSONSerialization.data(withJSONObject: item),
                let typed = try? JSONDecoder().decode([String: AttributeValue].self, from: data)
            {
                decoded.item = typed
            }
            if decoded.code == "TransactionCanceledException" {
                decoded.cancellationReasons = cancellationReasons(object, message: decoded.message)
            }
        }
        // SQS in JSON mode sends its legacy query code ("AWS.SimpleQueueService.NonExistentQueue;Sender") here.
        if let header = queryErrorHeader, let code = header.split(separator: ";").first, !code.isEmpty {
            decoded.code = String(code)
        }
        return decoded
    }

    /// DynamoDB's `CancellationReasons` (`[{"Code": ..., "Message": ..., "Item": ...}]`); when a reply lacks
    /// them, the codes its message lists ("... specific reasons [ConditionalCheckFailed, None]").
    static func cancellationReasons(_ object: [String: Any], message: String?) -> [DynamoDB.CancellationReason]? {
        if let reasons = object["CancellationReasons"] as? [[String: Any]] {
            return reasons.map { reason in
                var item: DynamoDBItem?
                if let raw = reason["Item"] as? [String: Any],
                    let data = try? JSONSerialization.data(withJSONObject: raw)
                {
                    item = try? JSONDecoder().decode(DynamoDBItem.self, from: data)
                }
                return DynamoDB.CancellationReason(
                    code: .init(rawValue: reason["Code"] as? String ?? "None"),
                    message: reason["Message"] as? String,
                    item: item
                )
            }
        }
        guard let message, let open = message.lastIndex(of: "["), let close = message.lastIndex(of: "]"),
            open < close
        else { return nil }
        return message[message.index(after: open)..<close].split(separator: ",").map {
            DynamoDB.CancellationReason(code: .init(rawValue: $0.trimmingCharacters(in: .whitespaces)))
        }
    }

    static func decodeXML(_ body: Data) -> Decoded {
        var decoded = Decoded()
        guard let root = try? XMLNode.parse(body) else { return decoded }
        // EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
        // IAM and other Query services: <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>
        if let error = root.first(named: "Error") {
            decoded.code = error.child("Code")?.text
            decoded.message = error.child("Message")?.text
        }
        decoded.requestID = root.first(named: "RequestID")?.text ?? root.first(named: "RequestId")?.text
        return decoded
    }
}
