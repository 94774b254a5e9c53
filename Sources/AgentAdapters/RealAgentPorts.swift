import AWSClients
import AsyncHTTPClient
import BallastConfig
import ClusterAgent
import Cost
import KubernetesClient
import Logging
import PrometheusClient

/// The agent's ports on the real cluster, built from its configuration's `kubernetes:`, `prometheus:`, `ec2:` and
/// `interruptions:` sections: the Kubernetes API through its kubeconfig (or service account), Prometheus, EC2
/// and the interruption queue with the standard AWS credentials (environment, shared files, instance metadata).
public struct RealAgentPorts: Sendable {
    public let kube: KubernetesKubeAPI
    public let metrics: PrometheusMetricsSource
    public let cloud: EC2CloudProvider
    public let interruptions: SQSInterruptionSource?
    /// The zones the agent may launch into (those with a subnet).
    public let zones: [String]
    private let prometheus: PrometheusClient

    /// Reads the kubeconfig, the Prometheus credentials and the AWS settings now, so a missing file is reported at
    /// start, by key.
    public init(
        agent configuration: AgentConfiguration,
        httpClient: HTTPClient,
        logger: Logger
    ) throws(ConfigValidationError) {
        guard let kubernetes = configuration.kubernetes, let prometheusEntry = configuration.prometheus,
            let ec2Entry = configuration.ec2
        else {
            throw ConfigValidationError(key: "kubernetes", expected: "the real sources, or a `simulation:` section")
        }
        let kubeConfig: KubeConfig
        do {
            kubeConfig =
                kubernetes.inCluster == true
                ? try KubeConfig.inCluster()
                : try KubeConfig.load(
                    path: kubernetes.kubeconfig ?? KubeConfig.defaultPath(),
                    context: kubernetes.context
                )
        } catch {
            throw ConfigValidationError(key: "kubernetes", expected: "a usable kubeconfig (\(error))")
        }
        do {
            kube = KubernetesKubeAPI(
                client: try KubernetesClient(
                    httpClient: httpClient,
                    kubeConfig: kubeConfig,
                    logger: Logger(label: "ballast.kubernetes")
                )
            )
        } catch {
            throw ConfigValidationError(key: "kubernetes", expected: "usable TLS credentials (\(error))")
        }

        var authentication = PrometheusClient.Authentication.none
        if let file = prometheusEntry.bearerTokenFile { authentication = .bearerTokenFile(path: file) }
        if let username = prometheusEntry.username, let password = prometheusEntry.password {
            do {
                authentication = .basic(
                    username: username,
                    password: String(decoding: try password.resolve(), as: UTF8.self)
                )
            } catch {
                throw ConfigValidationError(key: "prometheus.password", expected: "a readable secret (\(error))")
            }
        }
        do {
            prometheus = try PrometheusClient(
                configuration: .init(
                    baseURL: prometheusEntry.url,
                    authentication: authentication,
                    tls: prometheusEntry.caFile.map { PrometheusClient.TLS(caFile: $0) }
                ),
                logger: Logger(label: "ballast.prometheus")
            )
        } catch {
            throw ConfigValidationError(key: "prometheus", expected: "a usable Prometheus client (\(error))")
        }
        metrics = PrometheusMetricsSource(
            client: prometheus,
            settings: .nodeExporter(
                workerSelector: prometheusEntry.workerSelector ?? "",
                custom: (prometheusEntry.customMetrics ?? []).map {
                    MetricsSettings.CustomMetric(name: $0.name, query: $0.query, targetPerNode: $0.targetPerNode)
                },
                maxAge: prometheusEntry.maxAge?.duration ?? .seconds(120)
            ),
            logger: Logger(label: "ballast.metrics")
        )

        let credentials = CredentialsProviderChain.standard(
            metadata: InstanceMetadataCredentialsProvider(httpClient: httpClient)
        )
        func aws(_ service: String, endpoint: String?) -> AWSClient {
            AWSClient(
                httpClient: httpClient,
                credentialsProvider: credentials,
                configuration: AWSClient.Configuration(
                    region: configuration.region,
                    endpoints: endpoint.map { [service: $0] } ?? [:]
                ),
                logger: Logger(label: "ballast.aws")
            )
        }
        let template: EC2.LaunchTemplate =
            ec2Entry.launchTemplate.hasPrefix("lt-")
            ? .id(ec2Entry.launchTemplate, version: ec2Entry.launchTemplateVersion ?? "$Default")
            : .name(ec2Entry.launchTemplate, version: ec2Entry.launchTemplateVersion ?? "$Default")
        cloud = EC2CloudProvider(
            ec2: EC2(client: aws("ec2", endpoint: ec2Entry.endpoint)),
            settings: .init(
                cluster: ClusterID(configuration.clusterID),
                launchTemplate: template,
                subnets: ec2Entry.subnets
            ),
            logger: Logger(label: "ballast.ec2")
        )
        zones = ec2Entry.subnets.keys.sorted()
        interruptions = configuration.interruptions.map {
            SQSInterruptionSource(
                sqs: SQS(client: aws("sqs", endpoint: $0.endpoint)),
                settings: .init(queueURL: $0.queueURL),
                logger: Logger(label: "ballast.interruptions")
            )
        }
    }

    /// Closes what the ports own (the Prometheus client's connections).
    public func shutdown() async {
        try? await prometheus.shutdown()
    }
}
