/// EventBridge's own samples of the EC2 events Ballast acts on, as its rules deliver them to an interruption queue
/// (deploy/cloudformation/events.yaml), and two it does not: another kind of event, and a body that is no event.
/// The agent's queue and the coordinator's account-wide router are tested with the same bodies.
public enum EventBridgeSamples {
    public static let spotInterruption = """
        {"version":"0","id":"1e5527d7-bb36-4607-3370-4164db56a40e","detail-type":"EC2 Spot Instance Interruption Warning",
         "source":"aws.ec2","account":"123456789012","time":"2027-03-01T10:00:00Z","region":"us-east-1",
         "resources":["arn:aws:ec2:us-east-1a:instance/i-0b662ef9931388ba0"],
         "detail":{"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"}}
        """
    public static let rebalance = """
        {"version":"0","id":"5d0e4c1a-6e02-4a3a-8dc9-9e2a8f1b6f0e","detail-type":"EC2 Instance Rebalance Recommendation",
         "source":"aws.ec2","account":"123456789012","time":"2027-03-01T10:01:00Z","region":"us-east-1",
         "resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-0c5ba6d1c1ea8e0b2"],
         "detail":{"instance-id":"i-0c5ba6d1c1ea8e0b2"}}
        """
    public static let stateChange = """
        {"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification",
         "source":"aws.ec2","account":"123456789012","time":"2027-03-01T10:02:00Z","region":"us-east-1",
         "resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-0e2a3b4c5d6e7f809"],
         "detail":{"instance-id":"i-0e2a3b4c5d6e7f809","state":"shutting-down"}}
        """
    public static let scheduledChange = """
        {"version":"0","id":"121345678-1234-1234-1234-123456789012","detail-type":"AWS Health Event",
         "source":"aws.health","account":"123456789012","time":"2027-03-01T10:03:00Z","region":"us-east-1",
         "resources":["i-0a1b2c3d4e5f60718"],
         "detail":{"eventArn":"arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED_1",
          "service":"EC2","eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED","eventTypeCategory":"scheduledChange",
          "startTime":"Sat, 13 Mar 2027 01:00:00 GMT","endTime":"Sat, 13 Mar 2027 07:00:00 GMT",
          "eventDescription":[{"language":"en_US","latestDescription":"EC2 has detected degradation of the underlying hardware."}],
          "affectedEntities":[{"entityValue":"i-0a1b2c3d4e5f60718"},{"entityValue":"i-0f1e2d3c4b5a69788"}]}}
        """
    public static let notOurs = """
        {"version":"0","id":"0f9e8d7c-1111-2222-3333-444455556666","detail-type":"EC2 AMI State Change","source":"aws.ec2",
         "account":"123456789012","time":"2027-03-01T10:04:00Z","region":"us-east-1","resources":[],
         "detail":{"ImageId":"ami-0123","State":"available"}}
        """
    public static let garbage = "{\"this is\": not an event"
}
