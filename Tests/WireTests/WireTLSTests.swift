import BallastTestSupport
import Foundation
import Testing
import Wire

/// A throwaway CA and node certificates made with the `openssl` command line tool in a temporary directory.
struct TestPKI {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ballast-wire-tls-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n".utf8)
            .write(to: directory.appendingPathComponent("leaf.ext"))
        for ca in ["ca", "rogue-ca"] {
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "1", "-subj", "/CN=ballast-\(ca)",
            ])
        }
        for (node, ca) in [("coord", "ca"), ("agent", "ca"), ("intruder", "rogue-ca")] {
            try openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(node).key", "-out", "\(node).csr", "-subj", "/CN=\(node)",
            ])
            try openssl([
                "x509", "-req", "-in", "\(node).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                "-CAcreateserial", "-out", "\(node).pem", "-days", "1", "-extfile", "leaf.ext",
            ])
        }
    }

    func tls(_ node: String) -> WireTLSConfiguration {
        WireTLSConfiguration(
            certificateChainFile: path("\(node).pem"),
            privateKeyFile: path("\(node).key"),
            trustRootsFile: path("ca.pem")
        )
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    private func openssl(_ arguments: [String]) throws { try OpenSSL.run(arguments, in: directory) }
}

@Suite("WireActorSystem over mutual TLS")
struct WireTLSTests {
    @Test("with certificates from the same CA on both sides, calls flow both ways inside TLS")
    func mutualTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var coordinator = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinator.tls = pki.tls("coord")
        var agent = WireFixture.configuration(node: "agent-eu-1", role: .agent)
        agent.tls = pki.tls("agent")
        try await WireFixture.withPair(coordinatorConfiguration: coordinator, agentConfiguration: agent) {
            (pair: WireFixture.Pair) async throws in
            #expect(try await pair.remoteAgent().drain(node: "tls", epoch: 1).evicted == 3)
            #expect(try await pair.remoteCoordinator().report(cluster: "eu", pendingPods: 1) == 1)
        }
    }

    @Test("a client whose certificate another CA signed is refused, and a plain-TCP client too")
    func refusedCertificates() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var serverConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        serverConfiguration.tls = pki.tls("coord")
        let server = try WireActorSystem(configuration: serverConfiguration)
        let address = try await server.listen(host: "127.0.0.1", port: 0)

        var intruderConfiguration = WireFixture.configuration(node: "agent-x", role: .agent)
        intruderConfiguration.tls = WireTLSConfiguration(
            certificateChainFile: pki.path("intruder.pem"),
            privateKeyFile: pki.path("intruder.key"),
            trustRootsFile: pki.path("ca.pem")
        )
        let intruder = try WireActorSystem(configuration: intruderConfiguration)
        await #expect {
            try await intruder.connect(host: "127.0.0.1", port: address.port!)
        } throws: { ($0 as? WireConnectError)?.code == .handshakeRefused }

        let plain = try WireActorSystem(configuration: WireFixture.configuration(node: "agent-y", role: .agent))
        await #expect {
            try await plain.connect(host: "127.0.0.1", port: address.port!)
        } throws: { ($0 as? WireConnectError)?.code == .handshakeRefused }
        #expect(server.connectedPeers.isEmpty)
        await intruder.shutdown()
        await plain.shutdown()
        await server.shutdown()
    }

    @Test("unreadable certificate files fail construction with a tlsConfiguration error")
    func badFiles() {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.tls = WireTLSConfiguration(
            certificateChainFile: "/nonexistent.pem",
            privateKeyFile: "/nonexistent.key",
            trustRootsFile: "/nonexistent-ca.pem"
        )
        #expect { _ = try WireActorSystem(configuration: configuration) } throws: {
            ($0 as? WireConnectError)?.code == .tlsConfiguration
        }
    }
}
