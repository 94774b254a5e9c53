import Foundation
import Testing

@testable import AWSClients

@Suite("XML parser")
struct XMLNodeTests {
    @Test("parses an EC2 reply: declaration, namespaces, nested lists, entities, CDATA and comments")
    func parsesReply() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
              <!-- a comment -->
              <requestId>r-1</requestId>
              <reservationSet>
                <item><instancesSet><item><instanceId>i-1</instanceId><tagSet><item><key>a&amp;b</key><value>&lt;&#x263A;&#65;&gt;</value></item></tagSet></item></instancesSet></item>
              </reservationSet>
              <ec2:note a="1" b='&quot;2&quot;'><![CDATA[<raw> & text]]></ec2:note>
              <empty/>
            </DescribeInstancesResponse>
            """
        let root = try XMLNode.parse(xml)
        #expect(root.name == "DescribeInstancesResponse")
        #expect(root.attributes["xmlns"] == "http://ec2.amazonaws.com/doc/2016-11-15/")
        #expect(root.string("requestId") == "r-1")
        let instance = root.items("reservationSet").first?.items("instancesSet").first
        #expect(instance?.string("instanceId") == "i-1")
        let tag = instance?.items("tagSet").first
        #expect(tag?.string("key") == "a&b")
        #expect(tag?.string("value") == "<☺A>")
        #expect(root.child("note")?.text == "<raw> & text")
        #expect(root.child("note")?.attributes == ["a": "1", "b": "\"2\""])
        #expect(root.child("empty")?.children.isEmpty == true)
    }

    @Test(
        "malformed documents are rejected with invalidResponse",
        arguments: ["", "<a>", "<a></b>", "<a>&bogus;</a>", "<a x=1/>", "<a/><b/>", "<!DOCTYPE a><a/>", "text"]
    )
    func rejectsMalformed(text: String) {
        let error = #expect(throws: AWSError.self) { try XMLNode.parse(text) }
        #expect(error?.code == .invalidResponse)
    }

    @Test("Query-protocol error replies decode to code, message and request id")
    func errorReplies() {
        let ec2 = ErrorReplyDecoder.decodeXML(
            Data(
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>no capacity</Message></Error></Errors><RequestID>req-9</RequestID></Response>
                """.utf8
            )
        )
        #expect(ec2.code == "InsufficientInstanceCapacity")
        #expect(ec2.message == "no capacity")
        #expect(ec2.requestID == "req-9")
        let iam = ErrorReplyDecoder.decodeXML(
            Data(
                """
                <ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>gone</Message></Error><RequestId>r2</RequestId></ErrorResponse>
                """.utf8
            )
        )
        #expect(iam.code == "NoSuchEntity")
        #expect(iam.requestID == "r2")
    }

    @Test("JSON error replies decode __type after the '#', and SQS's query-error header wins")
    func jsonErrors() {
        let dynamo = ErrorReplyDecoder.decodeJSON(
            Data(
                #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"failed","Item":{"v":{"S":"1"}}}"#
                    .utf8
            ),
            queryErrorHeader: nil
        )
        #expect(dynamo.code == "ConditionalCheckFailedException")
        #expect(dynamo.message == "failed")
        #expect(dynamo.item == ["v": .string("1")])
        let sqs = ErrorReplyDecoder.decodeJSON(
            Data(#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"nope"}"#.utf8),
            queryErrorHeader: "AWS.SimpleQueueService.NonExistentQueue;Sender"
        )
        #expect(sqs.code == "AWS.SimpleQueueService.NonExistentQueue")
    }

    @Test("a cancelled transaction's reasons come from CancellationReasons, or else from the message's list")
    func cancellationReasons() {
        let full = ErrorReplyDecoder.decodeJSON(
            Data(
                #"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]","CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"epoch":{"N":"4"}}}]}"#
                    .utf8
            ),
            queryErrorHeader: nil
        )
        #expect(full.cancellationReasons?.map(\.code) == [.none, .conditionalCheckFailed])
        #expect(full.cancellationReasons?.last?.message == "The conditional request failed")
        #expect(full.cancellationReasons?.last?.item == ["epoch": .number("4")])
        let messageOnly = ErrorReplyDecoder.decodeJSON(
            Data(
                #"{"__type":"TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]"}"#
                    .utf8
            ),
            queryErrorHeader: nil
        )
        #expect(messageOnly.cancellationReasons?.map(\.code) == [.transactionConflict, .none])
        let other = ErrorReplyDecoder.decodeJSON(
            Data(#"{"__type":"ValidationException","message":"bad [list]"}"#.utf8),
            queryErrorHeader: nil
        )
        #expect(other.cancellationReasons == nil)
    }

    @Test("a transactional write asking for returnValues is refused before it is sent")
    func transactionRefusesReturnValues() {
        let put = DynamoDB.TransactWriteItemsInput([.put(.init(tableName: "t", item: [:], returnValues: .allOld))])
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(put) }
        let check = DynamoDB.TransactWriteItemsInput([
            .conditionCheck(
                .init(tableName: "t", key: ["pk": .string("a")], conditionExpression: "attribute_exists(pk)")
            )
        ])
        let body = String(decoding: (try? JSONEncoder().encode(check)) ?? Data(), as: UTF8.self)
        #expect(body.contains(#""TransactItems":[{"ConditionCheck":{"#))
    }
}
