import AsyncHTTPClient
import Foundation
import KubernetesClient
import Logging
import NIOCore

/// A fake API server over TLS with a throwaway cluster PKI, and a client that talks to it: started for one test
/// body and always stopped after it.
public struct FakeCluster {
    public static let token = "k3s-node-token-for-tests"

    public let api: FakeKubernetesAPI
    public let server: FakeKubernetesServer
    public let pki: FakeClusterPKI
    public let client: KubernetesClient

    public enum Auth: Sendable { case clientCertificate, token }

    public static func with<T>(
        auth: Auth = .clientCertificate,
        clientKey: FakeClusterPKI.KeyType = .ec,
        configure: (inout FakeKubernetesServer.Configuration) -> Void = { _ in },
        clientConfiguration: KubernetesClient.Configuration = fastClientConfiguration(),
        _ body: (FakeCluster) async throws -> T
    ) async throws -> T {
        let pki = try FakeClusterPKI(clientKey: clientKey)
        defer { pki.remove() }
        var configuration = FakeKubernetesServer.Configuration(tls: pki.serverTLS, token: token)
        configure(&configuration)
        let server = try await FakeKubernetesServer.start(configuration: configuration)
        // A short connect timeout: the pool retries a refused connection until it, and tests stop servers.
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout.connect = .seconds(1)
        let httpClient = HTTPClient(
            eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
            configuration: httpConfiguration
        )
        do {
            let kubeconfig = try pki.kubeconfig(server: server.url, token: auth == .token ? token : nil)
            let path = try pki.write(kubeconfig, to: "k3s.yaml")
            let client = try KubernetesClient(
                httpClient: httpClient,
                kubeConfig: try KubeConfig.load(path: path),
                configuration: clientConfiguration,
                logger: Logger(label: "test.kubernetes")
            )
            let result = try await body(FakeCluster(api: server.api, server: server, pki: pki, client: client))
            try await httpClient.shutdown()
            try await server.stop()
            return result
        } catch {
            try? await httpClient.shutdown()
            try? await server.stop()
            throw error
        }
    }

    public static func fastClientConfiguration() -> KubernetesClient.Configuration {
        var configuration = KubernetesClient.Configuration()
        configuration.backoff = Backoff(base: .milliseconds(20), cap: .milliseconds(200))
        configuration.requestTimeout = .seconds(10)
        return configuration
    }
}
