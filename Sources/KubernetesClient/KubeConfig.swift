import Foundation
import Yams

/// Where the API server is and how to prove who we are: read from a kubeconfig file (K3s writes
/// `/etc/rancher/k3s/k3s.yaml` with the CA, a client certificate and its key embedded) or from the service
/// account a pod runs as. Holds PEM bytes and tokens; its description never shows them.
public struct KubeConfig: Sendable, CustomStringConvertible {
    /// How requests authenticate.
    public enum Credentials: Sendable {
        /// A client certificate and its private key (RSA or EC), PEM.
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
        /// A bearer token.
        case token(String)
        /// A bearer token read from a file before each request, as projected service-account tokens rotate.
        case tokenFile(String)
        /// No credentials (a plain-HTTP test server).
        case none
    }

    /// The API server's base URL, e.g. `https://127.0.0.1:6443`.
    public var server: String
    /// The CA that signs the server certificate, PEM; nil trusts the system roots.
    public var certificateAuthorityPEM: [UInt8]?
    /// Skips verifying the server certificate (`insecure-skip-tls-verify`). Never set by K3s.
    public var insecureSkipTLSVerify: Bool
    public var credentials: Credentials
    /// The context's namespace, `default` when it names none.
    public var namespace: String

    public init(
        server: String,
        certificateAuthorityPEM: [UInt8]? = nil,
        insecureSkipTLSVerify: Bool = false,
        credentials: Credentials,
        namespace: String = "default"
    ) {
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.credentials = credentials
        self.namespace = namespace
    }

    public var description: String {
        let auth: String
        switch credentials {
        case .clientCertificate: auth = "client certificate"
        case .token: auth = "token"
        case .tokenFile(let path): auth = "token file \(path)"
        case .none: auth = "none"
        }
        return "KubeConfig(server: \(server), auth: \(auth), namespace: \(namespace))"
    }

    /// The default kubeconfig path: `$KUBECONFIG` (its first entry), else `~/.kube/config`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let list = environment["KUBECONFIG"], let first = list.split(separator: ":").first {
            return String(first)
        }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }

    /// Reads a kubeconfig file and resolves `context` (default: its `current-context`). Relative file paths in
    /// it are relative to the file's directory, as kubectl reads them.
    public static func load(path: String, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubeConfigError(code: .unreadableFile, file: path, key: nil, message: "cannot read: \(error)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, directory: directory, context: context)
    }

    /// Parses kubeconfig YAML; `file` names it in errors and `directory` anchors relative paths.
    public static func parse(
        yaml text: String,
        file: String,
        directory: String? = nil,
        context requested: String? = nil
    ) throws(KubeConfigError) -> KubeConfig {
        func failure(_ code: KubeConfigError.Code, _ key: String?, _ message: String) -> KubeConfigError {
            KubeConfigError(code: code, file: file, key: key, message: message)
        }
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: text) as? [String: Any] else {
                throw failure(.invalidYAML, nil, "the document is not a mapping")
            }
            root = loaded
        } catch let error as KubeConfigError {
            throw error
        } catch {
            throw failure(.invalidYAML, nil, "not valid YAML: \(error)")
        }
        func named(_ listKey: String, _ name: String, _ field: String) throws(KubeConfigError) -> [String: Any] {
            guard let list = root[listKey] as? [[String: Any]] else {
                throw failure(.missingKey, listKey, "no \(listKey) list")
            }
            guard let entry = list.first(where: { ($0["name"] as? String) == name }) else {
                throw failure(.unknownName, "\(listKey)[name=\(name)]", "no entry named \"\(name)\" in \(listKey)")
            }
            guard let body = entry[field] as? [String: Any] else {
                throw failure(.missingKey, "\(listKey)[name=\(name)].\(field)", "the entry has no \(field) mapping")
            }
            return body
        }
        guard let contextName = requested ?? (root["current-context"] as? String), !contextName.isEmpty else {
            throw failure(.missingKey, "current-context", "no current-context and no context was asked for")
        }
        let context = try named("contexts", contextName, "context")
        guard let clusterName = context["cluster"] as? String else {
            throw failure(.missingKey, "contexts[name=\(contextName)].context.cluster", "the context names no cluster")
        }
        let cluster = try named("clusters", clusterName, "cluster")
        let clusterKey = "clusters[name=\(clusterName)].cluster"
        guard let server = cluster["server"] as? String, !server.isEmpty else {
            throw failure(.missingKey, "\(clusterKey).server", "the cluster has no server URL")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw failure(.invalidValue, "\(clusterKey).server", "\"\(server)\" is not an http(s) URL")
        }
        func resolve(_ path: String) -> String {
            guard !path.hasPrefix("/"), let directory else { return path }
            return directory + "/" + path
        }
        func data(_ mapping: [String: Any], _ base: String, key: String) throws(KubeConfigError) -> [UInt8]? {
            if let encoded = mapping["\(key)-data"] as? String {
                guard let decoded = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                    throw failure(.invalidValue, "\(base).\(key)-data", "not valid base64")
                }
                return Array(decoded)
            }
            if let path = mapping[key] as? String {
                do {
                    return Array(try Data(contentsOf: URL(fileURLWithPath: resolve(path))))
                } catch {
                    throw failure(.unreadableFile, "\(base).\(key)", "cannot read \(resolve(path)): \(error)")
                }
            }
            return nil
        }
        let authority = try data(cluster, clusterKey, key: "certificate-authority")
        let credentials: Credentials
        if let userName = context["user"] as? String {
            let user = try named("users", userName, "user")
            let userKey = "users[name=\(userName)].user"
            let certificate = try data(user, userKey, key: "client-certificate")
            let key = try data(user, userKey, key: "client-key")
            if let certificate, let key {
                credentials = .clientCertificate(certificatePEM: certificate, keyPEM: key)
            } else if certificate != nil {
                throw failure(.missingKey, "\(userKey).client-key-data", "a client certificate without its key")
            } else if key != nil {
                throw failure(.missingKey, "\(userKey).client-certificate-data", "a client key without its certificate")
            } else if let value = user["token"], !(value is NSNull), !"\(value)".isEmpty {
                // YAML reads an all-digit token as a number: take it back as the text it was.
                credentials = .token(value as? String ?? "\(value)")
            } else if let tokenFile = user["tokenFile"] as? String {
                credentials = .tokenFile(resolve(tokenFile))
            } else if user["exec"] != nil || user["auth-provider"] != nil {
                throw failure(
                    .unsupported,
                    userKey,
                    "exec and auth-provider credentials are not supported; use a client certificate or a token"
                )
            } else {
                credentials = .none
            }
        } else {
            credentials = .none
        }
        return KubeConfig(
            server: server,
            certificateAuthorityPEM: authority,
            insecureSkipTLSVerify: (cluster["insecure-skip-tls-verify"] as? Bool) ?? false,
            credentials: credentials,
            namespace: (context["namespace"] as? String) ?? "default"
        )
    }

    /// The configuration of a pod's service account: the API at `KUBERNETES_SERVICE_HOST`:`KUBERNETES_SERVICE_PORT`,
    /// the CA and the (rotating) token mounted under `directory`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeConfigError(
                code: .missingKey,
                file: "environment",
                key: "KUBERNETES_SERVICE_HOST",
                message: "not set: the process does not run in a pod"
            )
        }
        guard let port = environment["KUBERNETES_SERVICE_PORT"], Int(port) != nil else {
            throw KubeConfigError(
                code: .missingKey,
                file: "environment",
                key: "KUBERNETES_SERVICE_PORT",
                message: "not set or not a port number"
            )
        }
        let caPath = directory + "/ca.crt"
        let authority: [UInt8]
        do {
            authority = Array(try Data(contentsOf: URL(fileURLWithPath: caPath)))
        } catch {
            throw KubeConfigError(code: .unreadableFile, file: caPath, key: nil, message: "cannot read: \(error)")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError(code: .unreadableFile, file: tokenPath, key: nil, message: "no readable token")
        }
        let namespace = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(
            server: "https://\(hostPart):\(port)",
            certificateAuthorityPEM: authority,
            credentials: .tokenFile(tokenPath),
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        )
    }
}

/// Why a kubeconfig or the in-cluster configuration could not be used: the file and the key at fault.
public struct KubeConfigError: Error, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A file (the kubeconfig, a CA, a certificate, a token) could not be read.
        case unreadableFile
        /// The kubeconfig is not YAML, or not a mapping.
        case invalidYAML
        /// A required key is absent.
        case missingKey
        /// A context, cluster or user is referred to by a name no entry has.
        case unknownName
        /// A value is present but unusable (bad base64, not a URL).
        case invalidValue
        /// A way of authenticating this client does not offer.
        case unsupported
    }
    public let code: Code
    /// The kubeconfig file, a mounted file, or `environment`.
    public let file: String
    /// The key at fault, as a path (`users[name=default].user.client-key-data`), when there is one.
    public let key: String?
    public let message: String

    public var description: String {
        "\(file)\(key.map { ": \($0)" } ?? ""): \(message)"
    }
}
