import AWSClients
import AsyncHTTPClient
import BallastConfig
import Clocks
import Cost
import Crypto
import Logging
import Wire

// From a validated configuration file to what the coordinator's parts are built with. The executable calls these
// and nothing else, so the mapping is tested here and the same file means the same fleet wherever it is loaded.

extension CoordinatorConfiguration {
    /// The fleet budget this file sets, in the planner's model; nil for an unlimited fleet.
    public var fleetBudget: FleetBudget? {
        budget.map { FleetBudget(monthlyUSD: $0.monthlyUSD, regionalMonthlyUSD: $0.regions ?? [:]) }
    }

    /// The planner's settings: its defaults, with what this file sets.
    public var plannerSettings: PlannerSettings {
        var planner = PlannerSettings()
        planner.clusterLostAfter = clusterLostAfter.duration
        return planner
    }

    /// What the coordinator actor plans with: every cluster's region and policy, the budget and the planner's
    /// settings, priced from `catalog`.
    public func actorSettings(catalog: PriceCatalog) -> CoordinatorActor.Settings {
        CoordinatorActor.Settings(
            clusters: Dictionary(
                uniqueKeysWithValues: clusters.map { (ClusterID($0.id), (region: $0.region, policy: $0.policy)) }
            ),
            budget: fleetBudget,
            planner: plannerSettings,
            catalog: catalog
        )
    }

    /// Who may connect: each cluster's agent with its own secret (its node id is its cluster id), coordctl with
    /// the admin secret; any other peer is refused as unknown. Reads the secrets now, so a missing file or
    /// variable is reported at start, naming the key (never the secret).
    public func wireSecrets() throws(ConfigValidationError) -> WireSecrets {
        func read(_ secret: SecretReference, key: String) throws(ConfigValidationError) -> SymmetricKey {
            do {
                return SymmetricKey(data: try secret.resolve())
            } catch {
                throw ConfigValidationError(key: key, expected: "a readable, non-empty secret (\(error))")
            }
        }
        var agents: [String: SymmetricKey] = [:]
        for (index, cluster) in clusters.enumerated() {
            agents[cluster.id] = try read(cluster.secret, key: "clusters.\(index).secret")
        }
        let admin = try adminSecret.map { secret throws(ConfigValidationError) in
            try read(secret, key: "admin-secret")
        }
        return .perNode(agents, admin: admin)
    }
}

extension CoordinatorConfiguration {
    /// The address to advertise in the lease: `advertise`, else the listen address with the port actually bound
    /// (`boundPort`, for a listen port of 0) and, when listening on every address, `hostName`.
    public func advertisedAddress(boundPort: Int, hostName: String) -> String {
        if let advertise { return "\(advertise)" }
        let host = ["0.0.0.0", "::", ""].contains(listen.host) ? hostName : listen.host
        return host.contains(":") ? "[\(host)]:\(boundPort)" : "\(host):\(boundPort)"
    }
}

extension CoordinatorConfiguration {
    /// The Slack notifier this file asks for, its webhook read now (a missing secret is reported at start, by key);
    /// nil when `notifications:` is absent.
    public func slackNotifier(
        httpClient: HTTPClient,
        clock: any FleetClock,
        logger: Logger
    ) throws(ConfigValidationError)
        -> SlackNotifier?
    {
        guard let notifications else { return nil }
        let url: String
        do {
            url = String(decoding: try notifications.slackWebhook.resolve(), as: UTF8.self)
        } catch {
            throw ConfigValidationError(
                key: "notifications.slack-webhook",
                expected: "a readable webhook URL (\(error))"
            )
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ConfigValidationError(
                key: "notifications.slack-webhook",
                expected: "an http(s) URL such as https://hooks.slack.com/services/…"
            )
        }
        var configuration = SlackNotifier.Configuration(webhookURL: url)
        if let interval = notifications.batchInterval { configuration.batchInterval = interval.duration }
        return SlackNotifier(configuration: configuration, httpClient: httpClient, clock: clock, logger: logger)
    }
}

extension CoordinatorConfiguration {
    /// EC2's spot price history through `httpClient`, one client per region with the standard credentials chain
    /// (environment, shared files, instance metadata); nil unless `spot-prices: ec2`.
    public func ec2SpotPrices(httpClient: HTTPClient, logger: Logger) -> EC2SpotPriceSource? {
        guard spotPrices == .ec2 else { return nil }
        let credentials = CredentialsProviderChain.standard(
            metadata: InstanceMetadataCredentialsProvider(httpClient: httpClient)
        )
        return EC2SpotPriceSource(
            configuration: .init { region in
                EC2(
                    client: AWSClient(
                        httpClient: httpClient,
                        credentialsProvider: credentials,
                        configuration: AWSClient.Configuration(region: region),
                        logger: logger
                    )
                )
            },
            logger: logger
        )
    }
}

extension CoordinatorConfiguration {
    /// The leader's consumer of the account-wide interruption queues (`interruptions:`), with one SQS client per
    /// region on the standard credentials chain; nil without `interruptions`.
    public func interruptionRouter(
        coordinator: CoordinatorActor,
        leadership: any Leadership,
        httpClient: HTTPClient,
        clock: any FleetClock,
        logger: Logger
    ) -> InterruptionRouter? {
        guard let interruptions else { return nil }
        let credentials = CredentialsProviderChain.standard(
            metadata: InstanceMetadataCredentialsProvider(httpClient: httpClient)
        )
        let endpoint = interruptions.endpoint
        return InterruptionRouter(
            settings: .init(
                queues: interruptions.queues,
                waitTime: interruptions.waitTime?.duration ?? .seconds(20),
                visibilityTimeout: interruptions.visibilityTimeout?.duration
            ),
            sqsForRegion: { region in
                var configuration = AWSClient.Configuration(region: region)
                if let endpoint { configuration.endpoints["sqs"] = endpoint }
                return SQS(
                    client: AWSClient(
                        httpClient: httpClient,
                        credentialsProvider: credentials,
                        configuration: configuration,
                        logger: logger
                    )
                )
            },
            coordinator: coordinator,
            leadership: leadership,
            clock: clock,
            logger: logger
        )
    }
}
