import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import AWSClients

@Suite("EC2 against moto (signatures checked)", .moto)
struct EC2Tests {
    /// Creates a launch template from one of moto's AMIs; returns its id, name and a subnet with its zone.
    func bootstrap(_ ec2: EC2) async throws -> (templateID: String, templateName: String, subnet: String, zone: String)
    {
        let images = try await ec2.call("DescribeImages", [("Owner.1", "amazon")])
        let image = try #require(images.items("imagesSet").first?.string("imageId"))
        let name = uniqueName("lt")
        let template = try await ec2.call(
            "CreateLaunchTemplate",
            [
                ("LaunchTemplateName", name), ("LaunchTemplateData.ImageId", image),
                ("LaunchTemplateData.InstanceType", "t3.micro"),
            ]
        )
        let templateID = try #require(template.child("launchTemplate")?.string("launchTemplateId"))
        let subnets = try await ec2.call("DescribeSubnets", [])
        let subnet = try #require(subnets.items("subnetSet").first)
        return (
            templateID, name, try #require(subnet.string("subnetId")), try #require(subnet.string("availabilityZone"))
        )
    }

    @Test("run from a launch template (by id and by name) with subnet, type override, spot market, token and tags")
    func runDescribeTerminate() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let ec2 = EC2(client: client)
            let setup = try await bootstrap(ec2)
            let cluster = uniqueName("cluster")
            let tags = [EC2.Tag("ballast.cluster", cluster), EC2.Tag("Name", "worker & friends")]
            let spot = try await ec2.runInstances(
                .init(
                    launchTemplate: .id(setup.templateID, version: "$Latest"),
                    subnetID: setup.subnet,
                    instanceType: "m5.large",
                    market: .spot(maxPrice: "0.05"),
                    clientToken: "\(cluster)-g1-s0",
                    tags: tags,
                    minCount: 2,
                    maxCount: 2
                )
            )
            #expect(spot.instances.count == 2)
            #expect(spot.instances.allSatisfy { $0.instanceType == "m5.large" && $0.subnetID == setup.subnet })
            #expect(spot.instances.allSatisfy { $0.isSpot })
            #expect(spot.instances.first?.availabilityZone == setup.zone)
            #expect(spot.instances.first?.tags["ballast.cluster"] == cluster)
            #expect(spot.instances.first?.tags["Name"] == "worker & friends")
            #expect(spot.instances.allSatisfy { $0.clientToken == "\(cluster)-g1-s0" })

            let onDemand = try await ec2.runInstances(
                .init(
                    launchTemplate: .name(setup.templateName),
                    subnetID: setup.subnet,
                    tags: tags
                )
            )
            let odInstance = try #require(onDemand.instances.first)
            #expect(odInstance.instanceType == "t3.micro")
            #expect(!odInstance.isSpot)

            let filters = [
                EC2.Filter("tag:ballast.cluster", [cluster]),
                EC2.Filter("instance-state-name", ["pending", "running"]),
            ]
            let described = try await ec2.describeAllInstances(.init(filters: filters))
            #expect(Set(described.map(\.instanceID)) == Set((spot.instances + onDemand.instances).map(\.instanceID)))
            #expect(described.allSatisfy { $0.state == .running || $0.state == .pending })

            let changes = try await ec2.terminateInstances([odInstance.instanceID])
            #expect(changes.map(\.instanceID) == [odInstance.instanceID])
            #expect(changes.first?.currentState == .shuttingDown || changes.first?.currentState == .terminated)
            let afterwards = try await ec2.describeInstances(.init(instanceIDs: [odInstance.instanceID]))
            #expect(afterwards.instances.first?.state == .terminated)
        }
    }

    @Test("describe instances follows NextToken page by page")
    func pagination() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let ec2 = EC2(client: client)
            let setup = try await bootstrap(ec2)
            let cluster = uniqueName("paged")
            var launched: Set<String> = []
            for slot in 0..<7 {
                let reservation = try await ec2.runInstances(
                    .init(
                        launchTemplate: .id(setup.templateID),
                        subnetID: setup.subnet,
                        clientToken: "\(cluster)-\(slot)",
                        tags: [.init("ballast.cluster", cluster)]
                    )
                )
                launched.formUnion(reservation.instances.map(\.instanceID))
            }
            let input = EC2.DescribeInstancesInput(filters: [.init("tag:ballast.cluster", [cluster])], maxResults: 5)
            let first = try await ec2.describeInstances(input)
            #expect(first.instances.count == 5)
            #expect(first.nextToken != nil)
            let all = try await ec2.describeAllInstances(input)
            #expect(all.count == 7)
            #expect(Set(all.map(\.instanceID)) == launched)
        }
    }

    @Test("spot price history filters by instance type and zone")
    func spotPrices() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let ec2 = EC2(client: client)
            let prices = try await ec2.describeAllSpotPrices(
                .init(
                    instanceTypes: ["m5.large"],
                    productDescriptions: ["Linux/UNIX (Amazon VPC)"],
                    filters: [.init("availability-zone", ["us-east-1a"])]
                )
            )
            #expect(!prices.isEmpty)
            #expect(prices.allSatisfy { $0.instanceType == "m5.large" && $0.availabilityZone == "us-east-1a" })
            #expect(prices.allSatisfy { Double($0.price) != nil && $0.timestamp != nil })
        }
    }

    @Test("an unknown instance is an error reply with EC2's code, status and request id")
    func errorReply() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let error = await #expect(throws: AWSError.self) {
                try await EC2(client: client).terminateInstances(["i-0123456789abcdef0"])
            }
            #expect(error?.code == .resourceNotFound)
            #expect(error?.serviceCode == "InvalidInstanceID.NotFound")
            #expect(error?.httpStatus == 400)
            #expect(error?.requestID?.isEmpty == false)
        }
    }

    @Test("a wrong secret fails EC2's signature check with AuthFailure")
    func wrongSecret() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto, secret: "not-the-secret") { client in
            let error = await #expect(throws: AWSError.self) {
                try await EC2(client: client).describeInstances(.init())
            }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.serviceCode == "AuthFailure")
        }
    }
}

@Suite("EC2 replies from a scripted peer")
struct EC2ScriptedTests {
    static func page(_ zone: String, _ price: String, next: String?) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
          <spotPriceHistorySet>
            <item><instanceType>c5.large</instanceType><productDescription>Linux/UNIX</productDescription>
              <spotPrice>\(price)</spotPrice><timestamp>2026-11-24T10:00:00.000Z</timestamp><availabilityZone>\(zone)</availabilityZone></item>
          </spotPriceHistorySet>
          <nextToken>\(next ?? "")</nextToken>
        </DescribeSpotPriceHistoryResponse>
        """
    }

    @Test("spot price history pages are followed until the token is empty, sending the token and AZ back")
    func spotPricePagination() async throws {
        let replies: [ScriptedHTTPServer.Reply] = [
            .init(body: Self.page("eu-west-1a", "0.031200", next: "tok-2")),
            .init(body: Self.page("eu-west-1a", "0.032000", next: nil)),
        ]
        try await ScriptedHTTPServer.with(routes: ["POST /": replies]) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let client = AWSClient(
                httpClient: http,
                credentialsProvider: StaticCredentialsProvider(.init(accessKeyID: "AKID", secretAccessKey: "s")),
                configuration: .init(region: "eu-west-1", endpoints: ["ec2": server.endpoint]),
                logger: Logger(label: "test")
            )
            let prices = try await EC2(client: client).describeAllSpotPrices(
                .init(
                    instanceTypes: ["c5.large"],
                    productDescriptions: ["Linux/UNIX"],
                    availabilityZone: "eu-west-1a",
                    startTime: Date(timeIntervalSince1970: 1_795_000_000),
                    maxResults: 1
                )
            )
            #expect(prices.map(\.price) == ["0.031200", "0.032000"])
            #expect(prices.first?.timestamp == EC2.parseDate("2026-11-24T10:00:00Z"))
            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let recorded = try ScriptedHTTPServer.decodeRecorded(
                Data((try await log.body.collect(upTo: 1 << 20)).readableBytesView)
            )
            try await http.shutdown()
            #expect(recorded.count == 2)
            #expect(
                recorded[0].body.contains("Action=DescribeSpotPriceHistory&Version=2016-11-15&InstanceType.1=c5.large")
            )
            #expect(recorded[0].body.contains("ProductDescription.1=Linux%2FUNIX&AvailabilityZone=eu-west-1a"))
            #expect(recorded[0].body.contains("StartTime=2026-11-18T"))
            #expect(!recorded[0].body.contains("NextToken"))
            #expect(recorded[1].body.hasSuffix("MaxResults=1&NextToken=tok-2"))
            #expect(recorded[1].headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/") == true)
        }
    }

    static let launched = """
        <?xml version="1.0" encoding="UTF-8"?>
        <RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>r-1</requestId><reservationId>r-0abc</reservationId>
          <instancesSet><item><instanceId>i-0abc</instanceId><instanceType>m6i.large</instanceType>
            <instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>
        </RunInstancesResponse>
        """

    @Test(
        "a launch whose reply is lost, or answered 503, is retried with the same ClientToken, given or made",
        arguments: [("ballast-c1-e3-g7-s0", false), (nil, false), (nil, true)] as [(String?, Bool)]
    )
    func launchRetryKeepsToken(given: String?, unavailable: Bool) async throws {
        let first: ScriptedHTTPServer.Reply =
            unavailable
            ? .init(status: 503, body: "<Response><Errors><Error><Code>Unavailable</Code></Error></Errors></Response>")
            : .init(dropConnection: true)
        try await ScriptedHTTPServer.with(routes: ["POST /": [first, .init(body: Self.launched)]]) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var configuration = AWSClient.Configuration(region: "eu-west-1", endpoints: ["ec2": server.endpoint])
            configuration.sleep = { _ in }
            let client = AWSClient(
                httpClient: http,
                credentialsProvider: StaticCredentialsProvider(.init(accessKeyID: "AKID", secretAccessKey: "s")),
                configuration: configuration,
                logger: Logger(label: "test")
            )
            let reservation = try await EC2(client: client).runInstances(
                .init(launchTemplate: .name("workers"), market: .spot(), clientToken: given)
            )
            #expect(reservation.instances.map(\.instanceID) == ["i-0abc"])
            let log = try await http.execute(
                HTTPClientRequest(url: server.endpoint + "/__requests"),
                timeout: .seconds(5)
            )
            let recorded = try ScriptedHTTPServer.decodeRecorded(
                Data((try await log.body.collect(upTo: 1 << 20)).readableBytesView)
            )
            try await http.shutdown()
            #expect(recorded.count == 2, "one failed attempt and its retry")
            let tokens = recorded.map { request in
                request.body.split(separator: "&").first { $0.hasPrefix("ClientToken=") }.map(String.init)
            }
            #expect(tokens[0] != nil)
            #expect(tokens[0] == tokens[1], "the retry must carry the first attempt's token: \(tokens)")
            if let given { #expect(tokens[0] == "ClientToken=\(given)") }
            // The whole request is the same, so EC2 sees a repeat of the first launch, not a second one.
            #expect(recorded[0].body == recorded[1].body)
        }
    }

    @Test("EC2 timestamps parse with and without a fraction of any length")
    func dates() {
        #expect(EC2.parseDate("2006-01-02T15:04:05Z") == Date(timeIntervalSince1970: 1_136_214_245))
        let nanos = EC2.parseDate("2006-01-02T15:04:05.999999999Z")?.timeIntervalSince1970 ?? 0
        #expect(abs(nanos - 1_136_214_245.999999999) < 1e-5)
        #expect(EC2.parseDate("not a date") == nil)
    }
}
