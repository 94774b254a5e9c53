import BallastTestSupport
import Foundation
import Testing

/// The repository's root, for the templates under deploy/ and the scripts.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// An IAM policy document as a role's inline policy in a template holds it, once a stack resolved its intrinsic
/// functions (scripts/cfn-policy does that with the test's values).
struct PolicyDocument: Codable, Sendable, Equatable {
    var version: String
    var statements: [Statement]

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case statements = "Statement"
    }

    struct Statement: Codable, Sendable, Equatable {
        var sid: String?
        var effect: String
        var actions: [String]
        var resources: [String]
        /// Operator → context key → values, e.g. `StringEquals` → `aws:ResourceTag/ballast:cluster` → [web].
        var conditions: [String: [String: [String]]]

        enum CodingKeys: String, CodingKey {
            case sid = "Sid"
            case effect = "Effect"
            case actions = "Action"
            case resources = "Resource"
            case conditions = "Condition"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            sid = try container.decodeIfPresent(String.self, forKey: .sid)
            effect = try container.decode(String.self, forKey: .effect)
            actions = try container.decode(OneOrMany.self, forKey: .actions).values
            resources = try container.decode(OneOrMany.self, forKey: .resources).values
            conditions =
                try container.decodeIfPresent([String: [String: OneOrMany]].self, forKey: .conditions)?
                .mapValues { $0.mapValues(\.values) } ?? [:]
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(sid, forKey: .sid)
            try container.encode(effect, forKey: .effect)
            try container.encode(actions, forKey: .actions)
            try container.encode(resources, forKey: .resources)
            if !conditions.isEmpty { try container.encode(conditions, forKey: .conditions) }
        }

        /// The values of one condition, or nil when the statement has no such condition.
        func condition(_ operator: String, _ key: String) -> [String]? { conditions[`operator`]?[key] }
    }

    /// IAM allows a single string wherever a list is allowed.
    private struct OneOrMany: Decodable {
        var values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else {
                values = try container.decode([String].self)
            }
        }
    }

    /// Loads role `role`'s inline policy `policy` from `template` (a file under deploy/cloudformation) with every
    /// `!Ref`, `!Sub`, `!GetAtt` and `!ImportValue` resolved from `values`; fails when any is left unresolved.
    static func load(
        template: String,
        role: String,
        policy: String,
        values: [String: String]
    ) async throws
        -> PolicyDocument
    {
        let output = try await runToCompletion(
            "python3",
            [
                repositoryRoot.appendingPathComponent("scripts/cfn-policy").path,
                repositoryRoot.appendingPathComponent("deploy/cloudformation/\(template)").path, role, policy,
            ] + values.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
        )
        return try JSONDecoder().decode(PolicyDocument.self, from: output)
    }

    /// The statements that allow `action` (exactly as IAM matches it, wildcards included).
    func statements(allowing action: String) -> [Statement] {
        statements.filter { statement in
            statement.effect == "Allow"
                && statement.actions.contains { pattern in
                    action.range(
                        of: "^"
                            + NSRegularExpression.escapedPattern(for: pattern).replacingOccurrences(
                                of: "\\*",
                                with: ".*"
                            ) + "$",
                        options: [.regularExpression, .caseInsensitive]
                    ) != nil
                }
        }
    }

    /// The same policy as moto 5 can evaluate it, which differs from IAM in three ways (docs/install.md, "What
    /// the IAM test proves"):
    /// - moto authorises EC2 and DynamoDB calls against the resource `*` (it resolves the resource only for SQS,
    ///   IAM and STS), so a statement scoped to an instance, subnet or table ARN never matches there. Such
    ///   statements get `Resource: *`: moto then checks the actions, and the resources are checked on the
    ///   document itself (`PolicyShapeTests`). SQS statements keep their ARNs, which moto does evaluate.
    /// - moto evaluates no condition of an identity policy (it has no request context for them and treats each
    ///   as met); they are kept, and checked on the document.
    /// - moto authorises TransactWriteItems as an action of its own; IAM authorises each contained action
    ///   (ConditionCheckItem, PutItem) on its table. A statement allowing ConditionCheckItem also allows
    ///   TransactWriteItems here; the contained actions' tables are checked on the document.
    func evaluableByMoto() -> PolicyDocument {
        var document = self
        document.statements = statements.map { statement in
            var statement = statement
            let services = Set(statement.actions.map { $0.split(separator: ":").first.map(String.init) ?? $0 })
            if !services.isSubset(of: ["sqs", "iam", "sts"]) { statement.resources = ["*"] }
            if statement.actions.contains("dynamodb:ConditionCheckItem") {
                statement.actions.append("dynamodb:TransactWriteItems")
            }
            return statement
        }
        return document
    }
}

/// An IAM user in moto with one inline policy and an access key: the stand-in for a role's instance profile.
struct PolicyUser: Sendable {
    let name: String
    let accessKeyID: String
    let secretAccessKey: String

    private static let script = """
        import json, sys, boto3
        endpoint, key_id, secret, user = sys.argv[1:5]
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id=key_id, aws_secret_access_key=secret)
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="role-policy", PolicyDocument=sys.stdin.read())
        key = iam.create_access_key(UserName=user)["AccessKey"]
        print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
        """

    /// Creates the user with the fixture's (allow-all) key and attaches `policy` as it is.
    static func create(in moto: MotoServer, name: String, policy: PolicyDocument) async throws -> PolicyUser {
        let output = try await runToCompletion(
            "python3",
            ["-c", script, moto.endpoint, moto.accessKeyID, moto.secretAccessKey, name],
            stdin: try JSONEncoder().encode(policy),
            environment: ["AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"]
        )
        struct Key: Decodable {
            let id: String
            let secret: String
        }
        let key = try JSONDecoder().decode(Key.self, from: output)
        return PolicyUser(name: name, accessKeyID: key.id, secretAccessKey: key.secret)
    }
}
