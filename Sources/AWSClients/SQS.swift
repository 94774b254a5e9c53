import Foundation
import Logging

/// An SQS client over the JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Operation>`): long-poll receive and
/// delete for the interruption queue, plus send/create/get-url for bootstrap and tests.
public struct SQS: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    public struct Message: Sendable, Hashable, Decodable {
        public var messageID: String
        /// Needed to delete the message; valid until its visibility timeout ends.
        public var receiptHandle: String
        public var body: String
        public var md5OfBody: String?
        /// System attributes such as `ApproximateReceiveCount`, `SentTimestamp`.
        public var attributes: [String: String]

        enum CodingKeys: String, CodingKey {
            case messageID = "MessageId"
            case receiptHandle = "ReceiptHandle"
            case body = "Body"
            case md5OfBody = "MD5OfBody"
            case attributes = "Attributes"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            messageID = try c.decode(String.self, forKey: .messageID)
            receiptHandle = try c.decode(String.self, forKey: .receiptHandle)
            body = try c.decode(String.self, forKey: .body)
            md5OfBody = try c.decodeIfPresent(String.self, forKey: .md5OfBody)
            attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        }
    }

    public struct ReceiveMessageInput: Sendable, Hashable, Encodable {
        public var queueURL: String
        /// 1...10. Default 10.
        public var maxNumberOfMessages: Int
        /// Long poll: how long to wait for a message, 0...20 seconds. Default 20.
        public var waitTime: Duration
        /// How long received messages stay hidden from other receivers; nil keeps the queue's setting.
        public var visibilityTimeout: Duration?

        public init(
            queueURL: String,
            maxNumberOfMessages: Int = 10,
            waitTime: Duration = .seconds(20),
            visibilityTimeout: Duration? = nil
        ) {
            self.queueURL = queueURL
            self.maxNumberOfMessages = maxNumberOfMessages
            self.waitTime = waitTime
            self.visibilityTimeout = visibilityTimeout
        }

        enum CodingKeys: String, CodingKey {
            case queueURL = "QueueUrl"
            case maxNumberOfMessages = "MaxNumberOfMessages"
            case waitTime = "WaitTimeSeconds"
            case visibilityTimeout = "VisibilityTimeout"
            case attributeNames = "MessageSystemAttributeNames"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(queueURL, forKey: .queueURL)
            try c.encode(maxNumberOfMessages, forKey: .maxNumberOfMessages)
            try c.encode(waitTime.components.seconds, forKey: .waitTime)
            if let visibilityTimeout { try c.encode(visibilityTimeout.components.seconds, forKey: .visibilityTimeout) }
            try c.encode(["All"], forKey: .attributeNames)
        }
    }

    /// Receives up to `maxNumberOfMessages`, waiting up to `waitTime` for the first; an empty array when none
    /// arrived. The HTTP timeout is extended by the wait so a long poll is never cut short.
    public func receiveMessages(_ input: ReceiveMessageInput) async throws -> [Message] {
        struct Output: Decodable { let Messages: [Message]? }
        let output: Output = try await call("ReceiveMessage", input, extraTimeout: input.waitTime)
        return output.Messages ?? []
    }

    /// Deletes a received message so it is not delivered again.
    public func deleteMessage(queueURL: String, receiptHandle: String) async throws {
        struct Input: Encodable {
            let QueueUrl: String
            let ReceiptHandle: String
        }
        struct Output: Decodable {}
        let _: Output = try await call("DeleteMessage", Input(QueueUrl: queueURL, ReceiptHandle: receiptHandle))
    }

    /// Sends a message; returns its id.
    @discardableResult
    public func sendMessage(queueURL: String, body: String) async throws -> String {
        struct Input: Encodable {
            let QueueUrl: String
            let MessageBody: String
        }
        struct Output: Decodable { let MessageId: String }
        let output: Output = try await call("SendMessage", Input(QueueUrl: queueURL, MessageBody: body))
        return output.MessageId
    }

    /// Creates a queue (or returns the existing one with the same attributes); returns its URL.
    public func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        struct Input: Encodable {
            let QueueName: String
            let Attributes: [String: String]?
        }
        struct Output: Decodable { let QueueUrl: String }
        let output: Output = try await call(
            "CreateQueue",
            Input(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes)
        )
        return output.QueueUrl
    }

    /// Some of a queue's attributes by name (`ApproximateNumberOfMessages`, `VisibilityTimeout`, …; `All` for
    /// every one), as SQS gives them: every value a string.
    public func queueAttributes(queueURL: String, names: [String] = ["All"]) async throws -> [String: String] {
        struct Input: Encodable {
            let QueueUrl: String
            let AttributeNames: [String]
        }
        struct Output: Decodable { let Attributes: [String: String]? }
        let output: Output = try await call("GetQueueAttributes", Input(QueueUrl: queueURL, AttributeNames: names))
        return output.Attributes ?? [:]
    }

    /// The URL of a queue by name; `.resourceNotFound` when there is none.
    public func queueURL(name: String) async throws -> String {
        struct Input: Encodable { let QueueName: String }
        struct Output: Decodable { let QueueUrl: String }
        let output: Output = try await call("GetQueueUrl", Input(QueueName: name))
        return output.QueueUrl
    }

    func call<Input: Encodable, Output: Decodable>(
        _ operation: String,
        _ input: Input,
        extraTimeout: Duration = .zero
    ) async throws -> Output {
        try await client.sendJSON(
            service: .sqs,
            targetPrefix: "AmazonSQS",
            operation: operation,
            input: input,
            extraTimeout: extraTimeout
        )
    }
}
