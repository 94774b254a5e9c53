import Foundation

/// A throwaway cluster PKI made with the `openssl` command line tool, shaped as K3s makes its own: a cluster CA,
/// a server certificate for 127.0.0.1 and an admin client certificate (`CN=system:admin, O=system:masters`), plus
/// a kubeconfig with everything embedded as base64 data, as `/etc/rancher/k3s/k3s.yaml` has it.
public struct FakeClusterPKI: Sendable {
    /// The key algorithm of the client certificate.
    public enum KeyType: Sendable { case ec, rsa }

    public let directory: URL

    public init(clientKey: KeyType = .ec) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ballast-kube-pki-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                .utf8
        ).write(to: directory.appendingPathComponent("server.ext"))
        try Data(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n".utf8
        )
        .write(to: directory.appendingPathComponent("client.ext"))
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        for ca in ["ca", "rogue-ca"] {
            try openssl(
                ["req", "-x509"] + ec + [
                    "-nodes", "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "1", "-subj",
                    "/CN=k3s-\(ca)@1700000000", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,digitalSignature",
                ]
            )
        }
        let leaves: [(String, String, String, [String])] = [
            ("server", "/CN=k3s", "ca", ec),
            ("admin", "/O=system:masters/CN=system:admin", "ca", clientKey == .ec ? ec : ["-newkey", "rsa:2048"]),
            ("intruder", "/O=system:masters/CN=system:admin", "rogue-ca", ec),
        ]
        for (name, subject, ca, key) in leaves {
            try openssl(["req"] + key + ["-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                "-out", "\(name).pem", "-days", "1", "-extfile", name == "server" ? "server.ext" : "client.ext",
            ])
        }
    }

    /// The server's TLS files for ``FakeKubernetesServer``.
    public var serverTLS: FakeKubernetesServer.TLSFiles {
        .init(certificateFile: path("server.pem"), privateKeyFile: path("server.key"), clientCAFile: path("ca.pem"))
    }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public func contents(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    /// A kubeconfig as K3s writes it: one cluster, one user and one context named `default`, the CA and the
    /// client certificate and key embedded. `client` picks the certificate (`admin`, or `intruder` from a CA
    /// the server does not trust); `token` replaces the certificate with a bearer token.
    public func kubeconfig(server: String, client: String = "admin", token: String? = nil) throws -> String {
        let ca = try contents("ca.pem").base64EncodedString()
        let user: String
        if let token {
            user = "    token: \(token)"
        } else {
            user = """
                    client-certificate-data: \(try contents("\(client).pem").base64EncodedString())
                    client-key-data: \(try contents("\(client).key").base64EncodedString())
                """
        }
        return """
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: \(ca)
                server: \(server)
              name: default
            contexts:
            - context:
                cluster: default
                user: default
              name: default
            current-context: default
            kind: Config
            preferences: {}
            users:
            - name: default
              user:
            \(user)

            """
    }

    /// Writes `text` to a file in the PKI directory and returns its path.
    public func write(_ text: String, to name: String) throws -> String {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        return path(name)
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }

    public struct OpenSSLFailed: Error {
        public var arguments: [String]
        public var status: Int32
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(arguments: arguments, status: process.terminationStatus)
        }
    }
}
