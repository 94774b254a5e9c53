import Foundation
import KubernetesClient
import Testing

@Suite("KubeConfig")
struct KubeConfigTests {
    static let k3s = """
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: Q0E=
            server: https://127.0.0.1:6443
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
            client-certificate-data: Q0VSVA==
            client-key-data: S0VZ

        """

    @Test("a K3s kubeconfig yields the server, the CA and the embedded client certificate and key")
    func k3sStyle() throws {
        let config = try KubeConfig.parse(yaml: Self.k3s, file: "k3s.yaml")
        #expect(config.server == "https://127.0.0.1:6443")
        #expect(config.certificateAuthorityPEM == Array("CA".utf8))
        guard case .clientCertificate(let certificate, let key) = config.credentials else {
            Issue.record("expected a client certificate, got \(config.credentials)")
            return
        }
        #expect(certificate == Array("CERT".utf8))
        #expect(key == Array("KEY".utf8))
        #expect(config.namespace == "default")
        #expect(!config.description.contains("CERT"))
    }

    @Test("a named context picks its cluster, user, namespace and token")
    func namedContext() throws {
        let yaml =
            Self.k3s + """
                - name: robot
                  user:
                    token: s3cret
                """
        let withContext = yaml.replacingOccurrences(
            of: "current-context: default",
            with: """
                - context:
                    cluster: default
                    user: robot
                    namespace: ops
                  name: robot
                current-context: default
                """
        )
        let config = try KubeConfig.parse(yaml: withContext, file: "config", context: "robot")
        guard case .token(let token) = config.credentials else {
            Issue.record("expected a token, got \(config.credentials)")
            return
        }
        #expect(token == "s3cret")
        #expect(config.namespace == "ops")
        #expect(!config.description.contains("s3cret"))
    }

    @Test("a token YAML reads as a number is still the token's text")
    func numericToken() throws {
        let yaml = Self.k3s.replacingOccurrences(
            of: "    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n",
            with: "    token: 123456789\n"
        )
        let config = try KubeConfig.parse(yaml: yaml, file: "k3s.yaml")
        guard case .token(let token) = config.credentials else {
            Issue.record("expected a token, got \(config.credentials)")
            return
        }
        #expect(token == "123456789")
    }

    @Test("relative certificate and token file paths resolve against the kubeconfig's directory")
    func relativeFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("CA-FILE".utf8).write(to: directory.appendingPathComponent("ca.crt"))
        let yaml = """
            clusters:
            - name: c
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority: ca.crt
            users:
            - name: u
              user:
                tokenFile: token
            contexts:
            - name: x
              context: {cluster: c, user: u}
            current-context: x
            """
        let path = directory.appendingPathComponent("config").path
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        let config = try KubeConfig.load(path: path)
        #expect(config.certificateAuthorityPEM == Array("CA-FILE".utf8))
        guard case .tokenFile(let tokenPath) = config.credentials else {
            Issue.record("expected a token file, got \(config.credentials)")
            return
        }
        #expect(tokenPath == directory.appendingPathComponent("token").path)
    }

    @Test(
        "errors name the file and the key at fault",
        arguments: [
            (
                "current-context: default", "current-context: nowhere", KubeConfigError.Code.unknownName,
                "contexts[name=nowhere]"
            ),
            ("server: https://127.0.0.1:6443", "server: ''", .missingKey, "clusters[name=default].cluster.server"),
            (
                "server: https://127.0.0.1:6443", "server: 127.0.0.1:6443", .invalidValue,
                "clusters[name=default].cluster.server"
            ),
            (
                "client-key-data: S0VZ", "client-key-data: S0V", .invalidValue,
                "users[name=default].user.client-key-data"
            ),
            ("    client-key-data: S0VZ\n", "", .missingKey, "users[name=default].user.client-key-data"),
            (
                "certificate-authority-data: Q0E=", "certificate-authority: /nonexistent/ca.crt", .unreadableFile,
                "clusters[name=default].cluster.certificate-authority"
            ),
        ] as [(String, String, KubeConfigError.Code, String)]
    )
    func errors(find: String, replace: String, code: KubeConfigError.Code, key: String) {
        let yaml = Self.k3s.replacingOccurrences(of: find, with: replace)
        #expect(yaml != Self.k3s)
        do {
            _ = try KubeConfig.parse(yaml: yaml, file: "/etc/rancher/k3s/k3s.yaml")
            Issue.record("parsed a broken kubeconfig")
        } catch {
            #expect(error.code == code)
            #expect(error.key == key)
            #expect(error.file == "/etc/rancher/k3s/k3s.yaml")
            #expect(error.description.contains("/etc/rancher/k3s/k3s.yaml"))
        }
    }

    @Test("a missing kubeconfig file is named in the error")
    func missingFile() {
        #expect {
            _ = try KubeConfig.load(path: "/nonexistent/k3s.yaml")
        } throws: { error in
            (error as? KubeConfigError)?.code == .unreadableFile
                && (error as? KubeConfigError)?.file == "/nonexistent/k3s.yaml"
        }
    }

    @Test("the in-cluster configuration reads the service account mount and the service environment")
    func inCluster() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serviceaccount-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("CA".utf8).write(to: directory.appendingPathComponent("ca.crt"))
        try Data("tok".utf8).write(to: directory.appendingPathComponent("token"))
        try Data("kube-system\n".utf8).write(to: directory.appendingPathComponent("namespace"))
        let config = try KubeConfig.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            directory: directory.path
        )
        #expect(config.server == "https://10.43.0.1:443")
        #expect(config.namespace == "kube-system")
        #expect(config.certificateAuthorityPEM == Array("CA".utf8))
        #expect(throws: KubeConfigError.self) {
            _ = try KubeConfig.inCluster(environment: [:], directory: directory.path)
        }
    }
}
