// AWSClients: Ballast's own AWS clients: credentials, SigV4, retries, DynamoDB, EC2 and SQS.
//
// Built on AsyncHTTPClient and swift-crypto. Knows nothing of Ballast's domain: callers pass requests and get
// typed replies or typed errors carrying the service's code and message. Secrets never reach logs or errors.
