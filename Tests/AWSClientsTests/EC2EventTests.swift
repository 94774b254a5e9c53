import Foundation
import Testing

@testable import AWSClients

@Suite("EventBridge EC2 events")
struct EC2EventTests {
    static let spotInterruption = """
        {"version":"0","id":"12345678-1234-1234-1234-123456789012","detail-type":"EC2 Spot Instance Interruption Warning",
         "source":"aws.ec2","account":"123456789012","time":"2026-11-24T14:00:00Z","region":"us-east-2",
         "resources":["arn:aws:ec2:us-east-2:123456789012:instance/i-1234567890abcdef0"],
         "detail":{"instance-id":"i-1234567890abcdef0","instance-action":"terminate"}}
        """

    @Test("a spot interruption warning decodes with its instance and action")
    func spotInterruptionWarning() throws {
        let event = try EC2Event.decode(Self.spotInterruption)
        #expect(event.detail == .spotInterruptionWarning(instanceID: "i-1234567890abcdef0", action: "terminate"))
        #expect(event.region == "us-east-2")
        #expect(event.account == "123456789012")
        #expect(event.time == EC2.parseDate("2026-11-24T14:00:00Z"))
        #expect(event.resources.count == 1)
    }

    @Test("a rebalance recommendation and a state change decode to their cases")
    func rebalanceAndStateChange() throws {
        let rebalance = try EC2Event.decode(
            """
            {"version":"0","id":"r1","detail-type":"EC2 Instance Rebalance Recommendation","source":"aws.ec2",
             "account":"1","time":"2026-11-24T14:00:00Z","region":"us-east-1","resources":[],"detail":{"instance-id":"i-0abc"}}
            """
        )
        #expect(rebalance.detail == .rebalanceRecommendation(instanceID: "i-0abc"))
        let change = try EC2Event.decode(
            """
            {"version":"0","id":"s1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",
             "account":"1","time":"2026-11-24T14:00:00Z","region":"us-east-1","resources":[],
             "detail":{"instance-id":"i-0def","state":"shutting-down"}}
            """
        )
        #expect(change.detail == .stateChange(instanceID: "i-0def", state: .shuttingDown))
    }

    @Test("an unknown detail type, even with an odd detail, is .other and not an error")
    func otherEvents() throws {
        let event = try EC2Event.decode(
            """
            {"version":"0","id":"o1","detail-type":"AWS Health Event","source":"aws.health","account":"1",
             "time":"2026-11-24T14:00:00Z","region":"us-east-1","resources":[],"detail":{"instance-id":42,"x":[1,2]}}
            """
        )
        #expect(event.detail == .other(detailType: "AWS Health Event"))
    }

    @Test("a body that is not an event, or a known event missing its instance, is invalidResponse")
    func malformed() {
        for body in [
            "not json", #"{"id":"x"}"#,
            #"{"id":"x","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","detail":{}}"#,
        ] {
            let error = #expect(throws: AWSError.self) { try EC2Event.decode(body) }
            #expect(error?.code == .invalidResponse)
        }
    }
}
