// AWSClients: Ballast's own AWS clients: credentials, SigV4, retries, DynamoDB, EC2 and SQS.
//
// Built on AsyncHTTPClient and swift-crypto. Knows nothing of Ballast's domain: callers pass requests and get
// typed replies or typed errors carrying the service's code and message. Secrets never reach logs or errors.
//
// Shape: one `AWSClient` core (credentials provider, `SigV4Signer`, `RetryPolicy`, the caller's `HTTPClient`)
// shared by the `DynamoDB`, `EC2` and `SQS` service clients, which are plain `Sendable` structs. Must not depend
// on any other Ballast module; Consensus and ClusterAgent depend on it. Design notes: docs/aws-clients.md.
