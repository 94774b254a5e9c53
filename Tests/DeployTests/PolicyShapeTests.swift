import AgentAdapters
import Foundation
import Testing

/// What moto cannot evaluate of the role policies (the resource ARNs of EC2 and DynamoDB statements, and every
/// condition), checked on the documents as a stack resolves them: the scoping IAM will enforce is there.
@Suite("role policies: resources and conditions moto does not evaluate")
struct PolicyShapeTests {
    static let account = "123456789012"
    static let region = "eu-west-1"
    static let cluster = "eu-web"
    static let template = "lt-0123456789abcdef0"
    static let vpc = "vpc-0123456789abcdef0"
    static let workerRole = "arn:aws:iam::\(account):role/ballast-eu-web-worker"
    static let agentQueue = "arn:aws:sqs:\(region):\(account):ballast-cluster-eu-web-events"
    static let instances = "arn:aws:ec2:\(region):\(account):instance/*"
    static let templateARN = "arn:aws:ec2:\(region):\(account):launch-template/\(template)"

    static func agentPolicy() async throws -> PolicyDocument {
        try await PolicyDocument.load(
            template: "cluster.yaml",
            role: "AgentRole",
            policy: "ballast-cluster-agent",
            values: [
                "AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": account, "Fleet": "ballast",
                "Cluster": cluster, "WorkerLaunchTemplate": template, "VpcId": vpc, "WorkerRole.Arn": workerRole,
                "import:ballast-cluster-\(cluster)-events-queue-arn": agentQueue,
            ]
        )
    }

    static func tableARN(_ name: String) -> String { "arn:aws:dynamodb:\(region):\(account):table/ballast-\(name)" }

    static func coordinatorPolicy() async throws -> PolicyDocument {
        try await PolicyDocument.load(
            template: "coordinator.yaml",
            role: "CoordinatorRole",
            policy: "ballast-coordinator",
            values: [
                "AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": account, "Fleet": "ballast",
                "import:ballast-lease-table-arn": tableARN("lease"),
                "import:ballast-state-table-arn": tableARN("state"),
                "import:ballast-journal-table-arn": tableARN("journal"),
            ]
        )
    }

    @Test("no statement allows a wildcard action or anything but Allow")
    func noWildcards() async throws {
        for policy in [try await Self.agentPolicy(), try await Self.coordinatorPolicy()] {
            for statement in policy.statements {
                #expect(statement.effect == "Allow")
                #expect(statement.actions.allSatisfy { !$0.contains("*") }, "\(statement.sid ?? "?")")
            }
        }
    }

    @Test("the agent terminates only instances tagged with its cluster")
    func terminateScopedByTag() async throws {
        let statements = try await Self.agentPolicy().statements(allowing: "ec2:TerminateInstances")
        #expect(statements.count == 1)
        for statement in statements {
            #expect(statement.resources == [Self.instances])
            #expect(statement.condition("StringEquals", "aws:ResourceTag/ballast:cluster") == [Self.cluster])
        }
    }

    @Test("the agent launches only from its template, with its cluster's tag, into its VPC")
    func launchScoped() async throws {
        let statements = try await Self.agentPolicy().statements(allowing: "ec2:RunInstances")
        #expect(!statements.isEmpty)
        for statement in statements {
            if statement.resources == [Self.instances] {
                #expect(statement.condition("StringEquals", "aws:RequestTag/ballast:cluster") == [Self.cluster])
                #expect(statement.condition("ArnEquals", "ec2:LaunchTemplate") == [Self.templateARN])
                // Every tag the provider sets at launch is among the keys the policy lets a request carry.
                let keys = Set(statement.condition("ForAllValues:StringEquals", "aws:TagKeys") ?? [])
                let sent = [
                    EC2CloudProvider.TagKey.cluster, EC2CloudProvider.TagKey.generation, EC2CloudProvider.TagKey.token,
                ]
                #expect(Set(sent).isSubset(of: keys), "\(keys)")
            } else if statement.resources.allSatisfy({ $0.contains(":subnet/") || $0.contains(":security-group/") }) {
                #expect(
                    statement.condition("ArnEquals", "ec2:Vpc") == [
                        "arn:aws:ec2:\(Self.region):\(Self.account):vpc/\(Self.vpc)"
                    ]
                )
            } else {
                #expect(
                    statement.condition("ArnEquals", "ec2:LaunchTemplate") == [Self.templateARN],
                    "\(statement.resources)"
                )
                #expect(!statement.resources.contains(Self.instances))
            }
            #expect(!statement.resources.contains("*"))
        }
    }

    @Test("the agent tags at launch, or retags its own instances without touching ballast:cluster")
    func tagging() async throws {
        let statements = try await Self.agentPolicy().statements(allowing: "ec2:CreateTags")
        #expect(statements.count == 2)
        for statement in statements {
            let atLaunch = statement.condition("StringEquals", "ec2:CreateAction") == ["RunInstances"]
            let ownInstances =
                statement.condition("StringEquals", "aws:ResourceTag/ballast:cluster") == [Self.cluster]
                && !(statement.condition("ForAllValues:StringEquals", "aws:TagKeys") ?? ["ballast:cluster"])
                    .contains("ballast:cluster")
                && statement.condition("ForAllValues:StringEquals", "aws:TagKeys") != nil
            #expect(atLaunch || ownInstances, "\(statement.sid ?? "?")")
        }
    }

    @Test("the agent passes only the worker role, only to EC2; reads only its own queue; Describe* alone is unscoped")
    func passRoleQueueDescribe() async throws {
        let policy = try await Self.agentPolicy()
        let passRole = policy.statements(allowing: "iam:PassRole")
        #expect(passRole.count == 1)
        #expect(passRole.first?.resources == [Self.workerRole])
        #expect(passRole.first?.condition("StringEquals", "iam:PassedToService") == ["ec2.amazonaws.com"])
        for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage"] {
            #expect(policy.statements(allowing: action).map(\.resources) == [[Self.agentQueue]])
        }
        for statement in policy.statements where statement.resources.contains("*") {
            #expect(statement.actions.allSatisfy { $0.hasPrefix("ec2:Describe") }, "\(statement.actions)")
        }
    }

    @Test("the coordinator reaches only its own tables, and a fenced write's contained actions are allowed on them")
    func coordinatorTables() async throws {
        let policy = try await Self.coordinatorPolicy()
        for statement in policy.statements where statement.actions.contains(where: { $0.hasPrefix("dynamodb:") }) {
            #expect(statement.resources.count == 1)
            #expect(
                [Self.tableARN("lease"), Self.tableARN("state"), Self.tableARN("journal")].contains(
                    statement.resources.first ?? ""
                ),
                "\(statement.resources)"
            )
        }
        // DynamoDBLeaseStore.writeState: a ConditionCheck on the lease item and a Put in the state table (the
        // lease table when no state table is configured), in one TransactWriteItems.
        let resources = { (action: String) in Set(policy.statements(allowing: action).flatMap(\.resources)) }
        #expect(resources("dynamodb:ConditionCheckItem") == [Self.tableARN("lease")])
        #expect(resources("dynamodb:PutItem").isSuperset(of: [Self.tableARN("lease"), Self.tableARN("state")]))
        #expect(resources("dynamodb:GetItem").isSuperset(of: [Self.tableARN("lease"), Self.tableARN("state")]))
        #expect(resources("dynamodb:DeleteItem").isEmpty && resources("dynamodb:DeleteTable").isEmpty)
        // No EC2 action but the price history, no SQS queue but the fleet's coordinator queues.
        let ec2 = policy.statements.flatMap(\.actions).filter { $0.hasPrefix("ec2:") }
        #expect(ec2 == ["ec2:DescribeSpotPriceHistory"])
        #expect(resources("sqs:ReceiveMessage") == ["arn:aws:sqs:*:\(Self.account):ballast-coordinator-events"])
    }

    @Test("the moto projection widens only EC2 and DynamoDB resources and adds only TransactWriteItems")
    func projection() async throws {
        let policy = try await Self.coordinatorPolicy()
        let projected = policy.evaluableByMoto()
        #expect(projected.statements.count == policy.statements.count)
        for (original, moto) in zip(policy.statements, projected.statements) {
            #expect(moto.conditions == original.conditions)
            if original.actions.allSatisfy({ $0.hasPrefix("sqs:") }) {
                #expect(moto.resources == original.resources)
            } else {
                #expect(moto.resources == ["*"])
            }
            #expect(Set(moto.actions).subtracting(original.actions).isSubset(of: ["dynamodb:TransactWriteItems"]))
        }
    }
}
