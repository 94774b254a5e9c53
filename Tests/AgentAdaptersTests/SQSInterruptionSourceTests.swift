import AWSClients
import AWSTestSupport
import BallastTestSupport
import ClusterAgent
import Cost
import Foundation
import Logging
import Testing

@testable import AgentAdapters

@Suite("SQSInterruptionSource against moto (signatures checked)", .moto)
struct SQSInterruptionSourceTests {
    typealias Samples = EventBridgeSamples

    /// Receives until `count` messages arrived or 10 receives passed.
    func receive(_ source: SQSInterruptionSource, count: Int) async throws -> [InterruptionMessage] {
        var messages: [InterruptionMessage] = []
        for _ in 0..<10 where messages.count < count {
            messages += try await source.receive()
        }
        return messages
    }

    @Test("the four event kinds arrive typed, garbage as unreadable and still on the queue, acknowledged ones gone")
    func receiveAndAcknowledge() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let sqs = SQS(client: client)
            let queue = try await sqs.createQueue(name: uniqueName("interruptions"))
            for body in [
                Samples.spotInterruption, Samples.rebalance, Samples.stateChange, Samples.scheduledChange,
                Samples.notOurs,
                Samples.garbage,
            ] {
                try await sqs.sendMessage(queueURL: queue, body: body)
            }
            let source = SQSInterruptionSource(
                sqs: sqs,
                settings: .init(
                    queueURL: queue,
                    waitTime: .seconds(1),
                    maxMessages: 10,
                    visibilityTimeout: .seconds(2)
                ),
                logger: Logger(label: "test.sqs")
            )
            let messages = try await receive(source, count: 5)
            let events = messages.map(\.event)
            #expect(messages.count == 5)
            #expect(
                events.contains(
                    .spotInterruption(
                        instanceID: "i-0b662ef9931388ba0",
                        deadline: Timestamp(year: 2027, month: 3, day: 1, hour: 10, minute: 2)
                    )
                )
            )
            #expect(events.contains(.rebalanceRecommendation(instanceID: "i-0c5ba6d1c1ea8e0b2")))
            #expect(events.contains(.stateChange(instanceID: "i-0e2a3b4c5d6e7f809", state: "shutting-down")))
            #expect(
                events.contains(
                    .scheduledChange(
                        instanceIDs: ["i-0a1b2c3d4e5f60718", "i-0f1e2d3c4b5a69788"],
                        start: Timestamp(year: 2027, month: 3, day: 13, hour: 1)
                    )
                )
            )
            let unreadable = try #require(
                messages.first {
                    if case .unreadable = $0.event { return true }
                    return false
                }
            )
            for message in messages where message.id != unreadable.id {
                try await source.acknowledge(message)
            }

            // After the visibility timeout only the unreadable message comes back: handled ones were deleted, the
            // event of a kind the agent does not act on was deleted on receipt.
            try await Task.sleep(for: .seconds(3))
            let again = try await receive(source, count: 1)
            #expect(again.map(\.id) == [unreadable.id])
            try await source.acknowledge(try #require(again.first))
            try await Task.sleep(for: .seconds(3))
            #expect(try await source.receive().isEmpty)
        }
    }
}

@Suite("Interruption messages read")
struct InterruptionMessageReadingTests {
    static func message(_ body: String, sent: String? = nil) throws -> SQS.Message {
        var json: [String: Any] = ["MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": body]
        if let sent { json["Attributes"] = ["SentTimestamp": sent] }
        return try JSONDecoder().decode(SQS.Message.self, from: JSONSerialization.data(withJSONObject: json))
    }

    @Test("a spot warning without its time takes the deadline from the queue's SentTimestamp")
    func spotWithoutTime() throws {
        let body =
            #"{"id":"x","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":{"instance-id":"i-1"}}"#
        #expect(
            SQSInterruptionSource.event(of: try Self.message(body, sent: "1700000000000"))
                == .spotInterruption(instanceID: "i-1", deadline: Timestamp(secondsSinceEpoch: 1_700_000_120))
        )
        guard case .unreadable = SQSInterruptionSource.event(of: try Self.message(body)) else {
            Issue.record("a warning with no time at all must be unreadable")
            return
        }
    }

    @Test("a health event of another service or category is not acted on; one naming no instance is unreadable")
    func healthEvents() throws {
        let rds =
            #"{"id":"h","detail-type":"AWS Health Event","source":"aws.health","detail":{"service":"RDS","eventTypeCategory":"scheduledChange"}}"#
        #expect(SQSInterruptionSource.event(of: try Self.message(rds)) == nil)
        let issue =
            #"{"id":"h","detail-type":"AWS Health Event","source":"aws.health","detail":{"service":"EC2","eventTypeCategory":"issue"}}"#
        #expect(SQSInterruptionSource.event(of: try Self.message(issue)) == nil)
        let volumes = """
            {"id":"h","detail-type":"AWS Health Event","source":"aws.health","resources":["vol-1"],
             "detail":{"service":"EC2","eventTypeCategory":"scheduledChange","affectedEntities":[{"entityValue":"vol-1"}]}}
            """
        guard case .unreadable = SQSInterruptionSource.event(of: try Self.message(volumes)) else {
            Issue.record("a scheduled change naming no instance must be unreadable")
            return
        }
    }
}
