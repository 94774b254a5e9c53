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

    @Test("an AWS Health scheduled change of EC2 decodes with its instances and window")
    func scheduledChange() throws {
        let event = try EC2Event.decode(
            """
            {"version":"0","id":"h1","detail-type":"AWS Health Event","source":"aws.health","account":"1",
             "time":"2027-03-01T10:03:00Z","region":"us-east-1","resources":["i-0a1b2c3d4e5f60718"],
             "detail":{"service":"EC2","eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
              "eventTypeCategory":"scheduledChange","startTime":"Sat, 13 Mar 2027 01:00:00 GMT",
              "endTime":"2027-03-13T07:00:00Z","affectedEntities":[{"entityValue":"i-0a1b2c3d4e5f60718"}]}}
            """
        )
        #expect(
            event.detail
                == .scheduledChange(
                    eventTypeCode: "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
                    instanceIDs: ["i-0a1b2c3d4e5f60718"],
                    start: EC2.parseDate("2027-03-13T01:00:00Z"),
                    end: EC2.parseDate("2027-03-13T07:00:00Z")
                )
        )
        // Without entities, the instances named as resources (ARNs or ids) are the affected ones.
        let fromResources = try EC2Event.decode(
            """
            {"id":"h2","detail-type":"AWS Health Event","source":"aws.health",
             "resources":["arn:aws:ec2:us-east-1:1:instance/i-0f1e2d3c4b5a69788"],
             "detail":{"service":"EC2","eventTypeCategory":"scheduledChange"}}
            """
        )
        #expect(
            fromResources.detail
                == .scheduledChange(eventTypeCode: "", instanceIDs: ["i-0f1e2d3c4b5a69788"], start: nil, end: nil)
        )
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
