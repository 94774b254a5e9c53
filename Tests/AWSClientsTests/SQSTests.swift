import BallastTestSupport
import Foundation
import Testing

@testable import AWSClients

@Suite("SQS against moto (signatures checked)", .moto)
struct SQSTests {
    @Test("send, long-poll receive with visibility, delete; an empty queue answers after the wait")
    func roundTrip() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let sqs = SQS(client: client)
            let name = uniqueName("interruptions")
            let url = try await sqs.createQueue(name: name)
            #expect(try await sqs.queueURL(name: name) == url)
            for n in 0..<3 { try await sqs.sendMessage(queueURL: url, body: "message \(n)") }

            let received = try await sqs.receiveMessages(
                .init(queueURL: url, maxNumberOfMessages: 2, waitTime: .seconds(1), visibilityTimeout: .seconds(30))
            )
            #expect(received.count == 2)
            #expect(received.allSatisfy { $0.body.hasPrefix("message ") && !$0.receiptHandle.isEmpty })
            #expect(received.first?.attributes["ApproximateReceiveCount"] == "1")
            for message in received { try await sqs.deleteMessage(queueURL: url, receiptHandle: message.receiptHandle) }

            let rest = try await sqs.receiveMessages(.init(queueURL: url, waitTime: .seconds(1)))
            #expect(rest.count == 1)
            try await sqs.deleteMessage(queueURL: url, receiptHandle: rest[0].receiptHandle)
            // The two deleted and the one still invisible are all gone from view: a long poll comes back empty.
            let clock = ContinuousClock()
            let start = clock.now
            let empty = try await sqs.receiveMessages(.init(queueURL: url, waitTime: .seconds(1)))
            #expect(empty.isEmpty)
            #expect(clock.now - start >= .milliseconds(900))
        }
    }

    @Test("queue attributes count visible and in-flight messages and give the queue's own settings")
    func attributes() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let sqs = SQS(client: client)
            let url = try await sqs.createQueue(name: uniqueName("counted"), attributes: ["VisibilityTimeout": "45"])
            for n in 0..<3 { try await sqs.sendMessage(queueURL: url, body: "message \(n)") }
            _ = try await sqs.receiveMessages(.init(queueURL: url, maxNumberOfMessages: 1, waitTime: .seconds(1)))
            let counts = try await sqs.queueAttributes(
                queueURL: url,
                names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )
            #expect(counts["ApproximateNumberOfMessages"] == "2", "\(counts)")
            #expect(counts["ApproximateNumberOfMessagesNotVisible"] == "1", "\(counts)")
            #expect(try await sqs.queueAttributes(queueURL: url)["VisibilityTimeout"] == "45")
        }
    }

    @Test("an unknown queue is resourceNotFound with SQS's code")
    func missingQueue() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let error = await #expect(throws: AWSError.self) {
                try await SQS(client: client).queueURL(name: "no-such-queue")
            }
            #expect(error?.code == .resourceNotFound)
            #expect(error?.httpStatus == 400)
        }
    }

    @Test("EventBridge events sent through the queue decode into typed values")
    func eventsThroughQueue() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let sqs = SQS(client: client)
            let url = try await sqs.createQueue(name: uniqueName("events"))
            try await sqs.sendMessage(queueURL: url, body: EC2EventTests.spotInterruption)
            let message = try #require(try await sqs.receiveMessages(.init(queueURL: url, waitTime: .seconds(1))).first)
            let event = try EC2Event.decode(message.body)
            #expect(event.detail == .spotInterruptionWarning(instanceID: "i-1234567890abcdef0", action: "terminate"))
        }
    }
}
