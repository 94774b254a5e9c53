import AWSClients
import AWSTestSupport
import AgentAdapters
import BallastTestSupport
import ClusterAgent
import Consensus
import Coordinator
import Cost
import Fencing
import FleetAPI
import Foundation
import Logging
import Testing

/// The agent's and the coordinator's IAM policies, loaded from deploy/cloudformation, attached to users in moto
/// with IAM enforcement on: the programs' own AWS calls succeed with those users' keys, and calls outside the
/// policies are refused. What moto cannot evaluate (resource ARNs of EC2 and DynamoDB, conditions) is checked on
/// the documents in `PolicyShapeTests`; see `PolicyDocument.evaluableByMoto()`.
@Suite("role policies from the templates, enforced by moto", .moto)
struct RolePolicyTests {
    static let fleet = "ballast"
    static let account = "123456789012"

    /// The values a stack would resolve the templates' intrinsic functions to, in moto's account and region.
    static func pseudoParameters(_ moto: MotoServer) -> [String: String] {
        ["AWS::Partition": "aws", "AWS::Region": moto.region, "AWS::AccountId": moto.accountID, "Fleet": fleet]
    }

    static func queueARN(_ moto: MotoServer, _ name: String) -> String {
        "arn:aws:sqs:\(moto.region):\(moto.accountID):\(name)"
    }

    /// The agent's policy of cluster `cluster` as stack 4 resolves it, for a template and VPC in moto.
    static func agentPolicy(
        _ moto: MotoServer,
        cluster: String,
        launchTemplate: String,
        vpc: String
    ) async throws -> PolicyDocument {
        try await PolicyDocument.load(
            template: "cluster.yaml",
            role: "AgentRole",
            policy: "ballast-cluster-agent",
            values: pseudoParameters(moto).merging(
                [
                    "Cluster": cluster, "WorkerLaunchTemplate": launchTemplate, "VpcId": vpc,
                    "WorkerRole.Arn": "arn:aws:iam::\(moto.accountID):role/\(fleet)-\(cluster)-worker",
                    "import:\(fleet)-cluster-\(cluster)-events-queue-arn":
                        queueARN(moto, "\(fleet)-cluster-\(cluster)-events"),
                ],
                uniquingKeysWith: { $1 }
            )
        )
    }

    /// The coordinator's policy as stack 2 resolves it, with stack 1's table ARNs.
    static func coordinatorPolicy(_ moto: MotoServer) async throws -> PolicyDocument {
        var values = pseudoParameters(moto)
        for table in ["lease", "state", "journal"] {
            values["import:\(fleet)-\(table)-table-arn"] =
                "arn:aws:dynamodb:\(moto.region):\(moto.accountID):table/\(fleet)-\(table)"
        }
        return try await PolicyDocument.load(
            template: "coordinator.yaml",
            role: "CoordinatorRole",
            policy: "ballast-coordinator",
            values: values
        )
    }

    /// Runs `body` with a client signed with `user`'s key.
    func withClient<T: Sendable>(
        _ moto: MotoServer,
        as user: PolicyUser,
        _ body: (AWSClient) async throws -> T
    ) async throws -> T {
        try await withAWSClient(
            endpoint: moto.endpoint,
            region: moto.region,
            accessKeyID: user.accessKeyID,
            secret: user.secretAccessKey,
            body
        )
    }

    /// Fails unless `body` throws an access-denied `AWSError` (or a wrapper whose description says so).
    func expectDenied(
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("\(what) was allowed", sourceLocation: sourceLocation)
        } catch let error as AWSError {
            #expect(error.code == .accessDenied, "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains("AccessDenied"), "\(what): \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: The cluster-agent

    @Test("the agent launches from its template, lists, terminates and reads its queue; nothing else")
    func agent() async throws {
        let moto = try MotoServer.current
        let cluster = uniqueName("web")
        let otherCluster = uniqueName("batch")
        // What stacks 3 and 4 create, made with the fixture's allow-all key.
        let (template, vpc, subnets, queueURL, otherQueueURL) = try await withAWSClient(for: moto) { admin in
            let ec2 = EC2(client: admin)
            let images = try await ec2.call("DescribeImages", [("Owner.1", "amazon")])
            let image = try #require(images.items("imagesSet").first?.string("imageId"))
            let created = try await ec2.call(
                "CreateLaunchTemplate",
                [
                    ("LaunchTemplateName", "\(Self.fleet)-\(cluster)-worker"),
                    ("LaunchTemplateData.ImageId", image), ("LaunchTemplateData.InstanceType", "t3.micro"),
                ]
            )
            let template = try #require(created.child("launchTemplate")?.string("launchTemplateId"))
            let vpcs = try await ec2.call(
                "DescribeVpcs",
                [("Filter.1.Name", "isDefault"), ("Filter.1.Value.1", "true")]
            )
            let vpc = try #require(vpcs.items("vpcSet").first?.string("vpcId"))
            var subnets: [String: String] = [:]
            for subnet in try await ec2.call(
                "DescribeSubnets",
                [("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", vpc)]
            )
            .items("subnetSet") {
                if let zone = subnet.string("availabilityZone"), let id = subnet.string("subnetId"),
                    subnets[zone] == nil
                {
                    subnets[zone] = id
                }
            }
            let sqs = SQS(client: admin)
            let queueURL = try await sqs.createQueue(name: "\(Self.fleet)-cluster-\(cluster)-events")
            let otherQueueURL = try await sqs.createQueue(name: "\(Self.fleet)-cluster-\(otherCluster)-events")
            _ = try await sqs.sendMessage(queueURL: queueURL, body: Self.spotInterruption)
            return (template, vpc, subnets, queueURL, otherQueueURL)
        }
        let zone = try #require(subnets.keys.sorted().first)

        let policy = try await Self.agentPolicy(moto, cluster: cluster, launchTemplate: template, vpc: vpc)
        let user = try await PolicyUser.create(in: moto, name: "agent-\(cluster)", policy: policy.evaluableByMoto())

        try await withClient(moto, as: user) { client in
            let ec2 = EC2(client: client)
            // All-or-nothing launches: moto launches MinCount instances, and a partial launch asks for MinCount 1.
            let provider = EC2CloudProvider(
                ec2: ec2,
                settings: .init(
                    cluster: ClusterID(cluster),
                    launchTemplate: .id(template),
                    subnets: subnets,
                    acceptPartialLaunches: false
                ),
                logger: Logger(label: "test.agent")
            )
            // RunInstances (spot and on-demand), DescribeInstances, TerminateInstances: the provider's calls.
            let spot = try await provider.launch(
                InstanceLaunchRequest(
                    instanceType: "m5.large",
                    market: .spot,
                    availabilityZone: zone,
                    count: 2,
                    token: LaunchToken(rawValue: uniqueName("spot")),
                    generation: 1
                )
            )
            let onDemand = try await provider.launch(
                InstanceLaunchRequest(
                    instanceType: "m5.large",
                    market: .onDemand,
                    availabilityZone: zone,
                    count: 1,
                    token: LaunchToken(rawValue: uniqueName("od")),
                    generation: 1
                )
            )
            #expect(spot.count == 2 && onDemand.count == 1)
            let listed = try await provider.instances()
            #expect(Set(listed.map(\.instanceID)) == Set((spot + onDemand).map(\.instanceID)))
            try await provider.terminate(spot.map(\.instanceID))

            // ReceiveMessage and DeleteMessage on its own queue: the interruption source's calls.
            let source = SQSInterruptionSource(
                sqs: SQS(client: client),
                settings: .init(queueURL: queueURL, waitTime: .zero),
                logger: Logger(label: "test.agent")
            )
            let messages = try await source.receive()
            #expect(messages.count == 1)
            for message in messages { try await source.acknowledge(message) }

            // Outside the policy.
            await expectDenied("ec2:DeleteVpc") { _ = try await ec2.call("DeleteVpc", [("VpcId", vpc)]) }
            await expectDenied("ec2:CreateVpc") { _ = try await ec2.call("CreateVpc", [("CidrBlock", "10.9.0.0/16")]) }
            await expectDenied("dynamodb:DeleteTable") {
                try await DynamoDB(client: client).deleteTable("ballast-lease")
            }
            await expectDenied("sqs:ReceiveMessage on another cluster's queue") {
                _ = try await SQS(client: client).receiveMessages(.init(queueURL: otherQueueURL, waitTime: .zero))
            }
            await expectDenied("sqs:SendMessage on its own queue") {
                _ = try await SQS(client: client).sendMessage(queueURL: queueURL, body: "{}")
            }
        }

        // An instance of another cluster: IAM refuses its termination through aws:ResourceTag/ballast:cluster, but
        // moto evaluates no condition of an identity policy, so there it goes through. PolicyShapeTests checks the
        // condition on the document; this records moto's gap, and fails once moto starts evaluating it.
        let foreign = try await withAWSClient(for: moto) { admin in
            try await EC2CloudProvider(
                ec2: EC2(client: admin),
                settings: .init(cluster: ClusterID(otherCluster), launchTemplate: .id(template), subnets: subnets),
                logger: Logger(label: "test.admin")
            )
            .launch(
                InstanceLaunchRequest(
                    instanceType: "m5.large",
                    market: .onDemand,
                    availabilityZone: zone,
                    count: 1,
                    token: LaunchToken(rawValue: uniqueName("foreign")),
                    generation: 1
                )
            )
        }
        try await withClient(moto, as: user) { client in
            await withKnownIssue("moto 5 does not evaluate aws:ResourceTag conditions") {
                await expectDenied("ec2:TerminateInstances on another cluster's instance") {
                    _ = try await EC2(client: client).terminateInstances(foreign.map(\.instanceID))
                }
            }
        }
    }

    // MARK: The coordinator

    @Test("the coordinator holds its lease, writes fenced state and reads spot prices; nothing else")
    func coordinator() async throws {
        let moto = try MotoServer.current
        let leaseTable = "\(Self.fleet)-lease"
        let stateTable = "\(Self.fleet)-state"
        let agentQueue = "\(Self.fleet)-cluster-\(uniqueName("web"))-events"
        let (coordinatorQueueURL, agentQueueURL) = try await withAWSClient(for: moto) { admin in
            let dynamoDB = DynamoDB(client: admin)
            try await DynamoDBLeaseStore.createTable(leaseTable, dynamoDB: dynamoDB)
            try await DynamoDBLeaseStore.createTable(stateTable, dynamoDB: dynamoDB)
            let sqs = SQS(client: admin)
            return (
                try await sqs.createQueue(name: "\(Self.fleet)-coordinator-events"),
                try await sqs.createQueue(name: agentQueue)
            )
        }
        let policy = try await Self.coordinatorPolicy(moto)
        let user = try await PolicyUser.create(in: moto, name: "coordinator", policy: policy.evaluableByMoto())

        try await withClient(moto, as: user) { client in
            let dynamoDB = DynamoDB(client: client)
            // As CoordinatorConfiguration.makeLeaseStore builds it (state items in the lease table), and with the
            // state in the tables stack's state table.
            for store in [
                DynamoDBLeaseStore(dynamoDB: dynamoDB, tableName: leaseTable),
                DynamoDBLeaseStore(dynamoDB: dynamoDB, tableName: leaseTable, stateTableName: stateTable),
            ] {
                let fleet = uniqueName("fleet")
                let holder = LeaseHolder(id: uniqueName("coordinator"), address: "10.0.0.1:7400")
                let first = LeaseRecord(
                    fleet: fleet,
                    holder: holder,
                    version: .random(),
                    leaseDuration: .seconds(10),
                    epoch: FencingEpoch(1)
                )
                #expect(try await store.read(fleet: fleet) == nil)
                #expect(try await store.write(first, replacing: nil) == .written)
                var renewed = first
                renewed.version = .random()
                #expect(try await store.write(renewed, replacing: first.version) == .written)
                #expect(try await store.read(fleet: fleet) == renewed)
                let item = FencedStateItem(fleet: fleet, key: "overrides", value: "{}")
                #expect(try await store.writeState(item, fencedBy: FencingEpoch(1), holder: holder.id) == .written)
                #expect(try await store.readState(fleet: fleet, key: "overrides")?.epoch == FencingEpoch(1))
            }

            // DescribeSpotPriceHistory: the spot price source's call.
            var configuration = EC2SpotPriceSource.Configuration { _ in EC2(client: client) }
            configuration.productDescription = "Linux/UNIX (Amazon VPC)"
            configuration.lookback = .seconds(10 * 365 * 86_400)  // moto's history carries fixed, old timestamps
            let prices = try await EC2SpotPriceSource(configuration: configuration, logger: Logger(label: "test"))
                .prices(
                    for: [SpotPool(region: moto.region, availabilityZone: "\(moto.region)a", instanceType: "m5.large")],
                    at: Timestamp(sinceEpoch: .seconds(Int64(Date().timeIntervalSince1970)))
                )
            #expect(!prices.isEmpty)

            // Its event queue (events.yaml with Consumer=coordinator).
            _ = try await SQS(client: client).receiveMessages(.init(queueURL: coordinatorQueueURL, waitTime: .zero))

            // Outside the policy.
            await expectDenied("dynamodb:DeleteTable") { try await dynamoDB.deleteTable(leaseTable) }
            await expectDenied("dynamodb:CreateTable") {
                try await DynamoDBLeaseStore.createTable(uniqueName("table"), dynamoDB: dynamoDB)
            }
            await expectDenied("dynamodb:DeleteItem") {
                _ = try await dynamoDB.deleteItem(
                    .init(tableName: leaseTable, key: ["pk": .string(DynamoDBLeaseStore.leaseKey(fleet: "x"))])
                )
            }
            let ec2 = EC2(client: client)
            await expectDenied("ec2:DeleteVpc") { _ = try await ec2.call("DeleteVpc", [("VpcId", "vpc-12345678")]) }
            await expectDenied("ec2:TerminateInstances") {
                _ = try await ec2.terminateInstances(["i-0123456789abcdef0"])
            }
            await expectDenied("ec2:DescribeInstances") { _ = try await ec2.call("DescribeInstances", []) }
            await expectDenied("sqs:ReceiveMessage on an agent's queue") {
                _ = try await SQS(client: client).receiveMessages(.init(queueURL: agentQueueURL, waitTime: .zero))
            }
        }
    }

    static let spotInterruption = """
        {"version":"0","id":"1e5527d7-bb36-4607-3370-4164db56a40e","detail-type":"EC2 Spot Instance Interruption Warning",
         "source":"aws.ec2","account":"123456789012","time":"2027-03-01T10:00:00Z","region":"us-east-1",
         "resources":["arn:aws:ec2:us-east-1a:instance/i-0b662ef9931388ba0"],
         "detail":{"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"}}
        """
}
