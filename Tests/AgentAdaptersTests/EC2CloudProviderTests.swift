import AWSClients
import BallastTestSupport
import ClusterAgent
import Cost
import FleetAPI
import Foundation
import Logging
import Testing

@testable import AgentAdapters

@Suite("EC2CloudProvider against moto (signatures checked)", .moto)
struct EC2CloudProviderTests {
    /// A launch template from one of moto's AMIs and the default VPC's subnets by zone.
    func setup(_ ec2: EC2) async throws -> (template: String, subnets: [String: String]) {
        let images = try await ec2.call("DescribeImages", [("Owner.1", "amazon")])
        let image = try #require(images.items("imagesSet").first?.string("imageId"))
        let template = try await ec2.call(
            "CreateLaunchTemplate",
            [
                ("LaunchTemplateName", uniqueName("lt")), ("LaunchTemplateData.ImageId", image),
                ("LaunchTemplateData.InstanceType", "t3.micro"),
            ]
        )
        let templateID = try #require(template.child("launchTemplate")?.string("launchTemplateId"))
        var subnets: [String: String] = [:]
        for subnet in try await ec2.call("DescribeSubnets", []).items("subnetSet") {
            if let zone = subnet.string("availabilityZone"), let id = subnet.string("subnetId"), subnets[zone] == nil {
                subnets[zone] = id
            }
        }
        #expect(subnets.count >= 2)
        return (templateID, subnets)
    }

    @Test(
        "launch tags instances with cluster, generation and token in the chosen zone; instances() finds only this cluster's"
    )
    func launchListTerminate() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let ec2 = EC2(client: client)
            let (template, subnets) = try await setup(ec2)
            let zones = subnets.keys.sorted()
            let cluster = ClusterID(uniqueName("web"))
            let provider = EC2CloudProvider(
                ec2: ec2,
                settings: .init(
                    cluster: cluster,
                    launchTemplate: .id(template, version: "$Latest"),
                    subnets: subnets,
                    acceptPartialLaunches: false
                ),
                logger: Logger(label: "test.ec2")
            )
            let other = EC2CloudProvider(
                ec2: ec2,
                settings: .init(
                    cluster: ClusterID(uniqueName("batch")),
                    launchTemplate: .id(template),
                    subnets: subnets
                ),
                logger: Logger(label: "test.ec2")
            )
            let spotToken = LaunchToken(rawValue: uniqueName("bl-spot"))
            let spot = try await provider.launch(
                InstanceLaunchRequest(
                    instanceType: "m5.large",
                    market: .spot,
                    availabilityZone: zones[0],
                    count: 2,
                    token: spotToken,
                    generation: 7
                )
            )
            #expect(spot.count == 2)
            #expect(spot.allSatisfy { $0.market == .spot && $0.availabilityZone == zones[0] })
            #expect(spot.allSatisfy { $0.instanceType == "m5.large" && $0.token == spotToken })
            let onDemandToken = LaunchToken(rawValue: uniqueName("bl-od"))
            let onDemand = try await provider.launch(
                InstanceLaunchRequest(
                    instanceType: "c5.large",
                    market: .onDemand,
                    availabilityZone: zones[1],
                    count: 1,
                    token: onDemandToken,
                    generation: 8
                )
            )
            #expect(onDemand.count == 1)
            #expect(onDemand.first?.market == .onDemand)
            let foreign = try await other.launch(
                InstanceLaunchRequest(
                    instanceType: "t3.micro",
                    market: .onDemand,
                    availabilityZone: zones[0],
                    count: 1,
                    token: LaunchToken(rawValue: uniqueName("bl-x")),
                    generation: 1
                )
            )

            // The tags as EC2 stores them, on the instances and on their volumes.
            let described = try await ec2.describeAllInstances(.init(instanceIDs: (spot + onDemand).map(\.instanceID)))
            for instance in described {
                #expect(instance.tags["ballast:cluster"] == cluster.rawValue)
                let isSpot = spot.contains { $0.instanceID == instance.instanceID }
                #expect(instance.tags["ballast:generation"] == (isSpot ? "7" : "8"))
                #expect(instance.tags["ballast:token"] == (isSpot ? spotToken : onDemandToken).rawValue)
                #expect(instance.subnetID == subnets[isSpot ? zones[0] : zones[1]])
                #expect(instance.clientToken == (isSpot ? spotToken : onDemandToken).rawValue)
            }
            let volumes = try await ec2.call(
                "DescribeVolumes",
                [("Filter.1.Name", "tag:ballast:token"), ("Filter.1.Value.1", spotToken.rawValue)]
            )
            #expect(volumes.items("volumeSet").count == 2)

            let listed = try await provider.instances()
            #expect(Set(listed.map(\.instanceID)) == Set((spot + onDemand).map(\.instanceID)))
            #expect(!listed.contains { $0.instanceID == foreign.first?.instanceID })
            let listedOnDemand = try #require(listed.first { $0.instanceID == onDemand.first?.instanceID })
            #expect(listedOnDemand.market == .onDemand)
            #expect(listedOnDemand.token == onDemandToken)
            #expect(listedOnDemand.availabilityZone == zones[1])
            #expect(listedOnDemand.instanceType == "c5.large")
            #expect(listed.filter { $0.market == .spot }.allSatisfy { $0.token == spotToken })
            let launchedAgo =
                Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)) - listedOnDemand.launchedAt
            #expect(launchedAgo > .seconds(-300) && launchedAgo < .seconds(300))

            // One id long gone does not stop the others from being terminated.
            let gone = "i-0123456789abcdef0"
            try await provider.terminate([spot[0].instanceID, gone])
            try await provider.terminate([gone])
            let after = try await provider.instances()
            #expect(Set(after.map(\.instanceID)) == Set([spot[1].instanceID, onDemand[0].instanceID]))
            try await other.terminate(foreign.map(\.instanceID))
        }
    }

    @Test("a zone without a subnet and a subnet that does not exist are invalid requests")
    func invalidRequests() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let ec2 = EC2(client: client)
            let (template, subnets) = try await setup(ec2)
            let zone = try #require(subnets.keys.sorted().first)
            let provider = EC2CloudProvider(
                ec2: ec2,
                settings: .init(
                    cluster: "web",
                    launchTemplate: .id(template),
                    subnets: [zone: "subnet-0123456789abcdef0"]
                ),
                logger: Logger(label: "test.ec2")
            )
            func launch(in zone: String) async throws(CloudError) -> [CloudInstance] {
                try await provider.launch(
                    InstanceLaunchRequest(
                        instanceType: "m5.large",
                        market: .onDemand,
                        availabilityZone: zone,
                        count: 1,
                        token: LaunchToken(rawValue: uniqueName("bl")),
                        generation: 1
                    )
                )
            }
            let noSubnet = await #expect(throws: CloudError.self) { try await launch(in: "mars-1a") }
            #expect(noSubnet?.code == .invalidRequest)
            // (A missing launch template is tested against the scripted EC2: moto fails on it with a bare 500.)
            let noSubnetInEC2 = await #expect(throws: CloudError.self) { try await launch(in: zone) }
            #expect(noSubnetInEC2?.code == .invalidRequest)
            #expect(noSubnetInEC2?.cloudCode == "InvalidSubnetID.NotFound")
        }
    }
}

@Suite("EC2CloudProvider against a scripted EC2 (errors moto cannot produce)")
struct EC2CloudProviderErrorTests {
    static func errorReply(_ code: String, status: Int = 400) -> ScriptedHTTPServer.Reply {
        .init(
            status: status,
            headers: ["Content-Type": "text/xml"],
            body: """
                <?xml version="1.0" encoding="UTF-8"?>
                <Response><Errors><Error><Code>\(code)</Code><Message>scripted \(code)</Message></Error></Errors>\
                <RequestID>req-\(code)</RequestID></Response>
                """
        )
    }

    static let cases: [(code: String, status: Int, expected: CloudError.Code)] = [
        ("InsufficientInstanceCapacity", 500, .insufficientCapacity),
        ("SpotMaxPriceTooLow", 400, .insufficientCapacity),
        ("InsufficientCapacity", 500, .insufficientCapacity),
        ("Unsupported", 400, .insufficientCapacity),
        ("InstanceLimitExceeded", 400, .quotaExceeded),
        ("VcpuLimitExceeded", 400, .quotaExceeded),
        ("MaxSpotInstanceCountExceeded", 400, .quotaExceeded),
        ("InvalidParameterValue", 400, .invalidRequest),
        ("InvalidLaunchTemplateName.NotFoundException", 400, .invalidRequest),
        ("UnauthorizedOperation", 403, .invalidRequest),
        ("RequestLimitExceeded", 503, .unavailable),
        ("InternalError", 500, .unavailable),
    ]

    @Test("EC2's refusals are sorted into capacity, quota, invalid request and unavailable", arguments: cases)
    func errorMapping(code: String, status: Int, expected: CloudError.Code) async throws {
        try await ScriptedHTTPServer.with(routes: ["POST /": [Self.errorReply(code, status: status)]]) { server in
            try await withAWSClient(endpoint: server.endpoint) { client in
                let provider = EC2CloudProvider(
                    ec2: EC2(client: client),
                    settings: .init(
                        cluster: "web",
                        launchTemplate: .name("web-workers"),
                        subnets: ["eu-west-1a": "subnet-1"]
                    ),
                    logger: Logger(label: "test.ec2")
                )
                let error = await #expect(throws: CloudError.self) {
                    try await provider.launch(
                        InstanceLaunchRequest(
                            instanceType: "m5.large",
                            market: .spot,
                            availabilityZone: "eu-west-1a",
                            count: 2,
                            token: LaunchToken(rawValue: "bl-0123"),
                            generation: 3
                        )
                    )
                }
                #expect(error?.code == expected)
                #expect(error?.cloudCode == code)
            }
        }
    }

    @Test(
        "a partial launch asks MinCount 1, MaxCount n with the token, market, subnet and tags, and returns what EC2 placed"
    )
    func partialLaunch() async throws {
        let reply = ScriptedHTTPServer.Reply(
            headers: ["Content-Type": "text/xml"],
            body: """
                <RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
                <requestId>r-1</requestId><reservationId>r-0abc</reservationId><ownerId>1</ownerId><instancesSet>
                <item><instanceId>i-0aaa</instanceId><instanceType>m5.large</instanceType>
                <instanceState><code>0</code><name>pending</name></instanceState>
                <placement><availabilityZone>eu-west-1a</availabilityZone></placement>
                <launchTime>2027-03-01T10:00:00.000Z</launchTime><instanceLifecycle>spot</instanceLifecycle>
                <privateIpAddress>10.0.1.17</privateIpAddress><clientToken>bl-0123</clientToken></item>
                <item><instanceId>i-0bbb</instanceId><instanceType>m5.large</instanceType>
                <instanceState><code>0</code><name>pending</name></instanceState>
                <placement><availabilityZone>eu-west-1a</availabilityZone></placement>
                <launchTime>2027-03-01T10:00:00.000Z</launchTime><instanceLifecycle>spot</instanceLifecycle>
                <clientToken>bl-0123</clientToken></item>
                </instancesSet></RunInstancesResponse>
                """
        )
        try await ScriptedHTTPServer.with(routes: ["POST /": [reply]]) { server in
            try await withAWSClient(endpoint: server.endpoint) { client in
                let provider = EC2CloudProvider(
                    ec2: EC2(client: client),
                    settings: .init(
                        cluster: "web",
                        launchTemplate: .name("web-workers", version: "$Default"),
                        subnets: ["eu-west-1a": "subnet-1"],
                        spotMaxPrice: "0.05"
                    ),
                    logger: Logger(label: "test.ec2")
                )
                let launched = try await provider.launch(
                    InstanceLaunchRequest(
                        instanceType: "m5.large",
                        market: .spot,
                        availabilityZone: "eu-west-1a",
                        count: 3,
                        token: LaunchToken(rawValue: "bl-0123"),
                        generation: 3
                    )
                )
                #expect(launched.map(\.instanceID) == ["i-0aaa", "i-0bbb"])
                #expect(launched.allSatisfy { $0.market == .spot && $0.state == .pending })
                #expect(launched.first?.launchedAt == Timestamp(year: 2027, month: 3, day: 1, hour: 10))
                #expect(launched.allSatisfy { $0.token == LaunchToken(rawValue: "bl-0123") })
                #expect(launched.map(\.privateIP) == ["10.0.1.17", nil])

                let requests = try await recordedRequests(server)
                let form = formPairs(try #require(requests.first?.body))
                #expect(form["Action"] == "RunInstances")
                #expect(form["MinCount"] == "1")
                #expect(form["MaxCount"] == "3")
                #expect(form["ClientToken"] == "bl-0123")
                #expect(form["SubnetId"] == "subnet-1")
                #expect(form["InstanceType"] == "m5.large")
                #expect(form["LaunchTemplate.LaunchTemplateName"] == "web-workers")
                #expect(form["LaunchTemplate.Version"] == "$Default")
                #expect(form["InstanceMarketOptions.MarketType"] == "spot")
                #expect(form["InstanceMarketOptions.SpotOptions.MaxPrice"] == "0.05")
                for spec in ["1", "2"] {
                    var tags: [String: String] = [:]
                    for index in 1...3 {
                        tags[form["TagSpecification.\(spec).Tag.\(index).Key"] ?? ""] =
                            form["TagSpecification.\(spec).Tag.\(index).Value"]
                    }
                    #expect(tags == ["ballast:cluster": "web", "ballast:generation": "3", "ballast:token": "bl-0123"])
                }
                #expect(
                    Set([form["TagSpecification.1.ResourceType"], form["TagSpecification.2.ResourceType"]]) == [
                        "instance", "volume",
                    ]
                )
            }
        }
    }
}
