import Foundation

/// An EventBridge event about EC2 as delivered to the interruption queue, with the details Ballast acts on
/// decoded into typed cases. Detail types it does not act on decode as `.other`, never as an error, so a new
/// rule on the queue cannot stop the agent from reading it.
public struct EC2Event: Sendable, Hashable {
    public enum Detail: Sendable, Hashable {
        /// "EC2 Spot Instance Interruption Warning": the instance will be stopped or terminated in two minutes.
        case spotInterruptionWarning(instanceID: String, action: String)
        /// "EC2 Instance Rebalance Recommendation": the instance is at elevated risk of interruption.
        case rebalanceRecommendation(instanceID: String)
        /// "EC2 Instance State-change Notification".
        case stateChange(instanceID: String, state: EC2.InstanceStateName)
        /// "AWS Health Event" of service EC2 in category `scheduledChange`: a retirement, reboot or maintenance
        /// of these instances (`eventTypeCode`, e.g. `AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED`) in the window
        /// from `start` to `end` (either may be missing).
        case scheduledChange(eventTypeCode: String, instanceIDs: [String], start: Date?, end: Date?)
        /// Any other detail type, kept by name.
        case other(detailType: String)
    }

    public var id: String
    public var detailType: String
    public var source: String
    public var account: String
    public var region: String
    /// When the event happened, per EventBridge.
    public var time: Date?
    public var resources: [String]
    public var detail: Detail

    /// Decodes an event from a message body; `.invalidResponse` when the body is not an EventBridge event, or
    /// when a detail type Ballast acts on lacks the fields it needs.
    public static func decode(_ body: String) throws -> EC2Event {
        struct Envelope: Decodable {
            let id: String
            let detailType: String
            let source: String
            let account: String?
            let region: String?
            let time: String?
            let resources: [String]?
            enum CodingKeys: String, CodingKey {
                case id
                case detailType = "detail-type"
                case source, account, region, time, resources
            }
        }
        struct DetailFields: Decodable {
            let instanceID: String?
            let action: String?
            let state: String?
            enum CodingKeys: String, CodingKey {
                case instanceID = "instance-id"
                case action = "instance-action"
                case state
            }
        }
        struct Wrapper: Decodable { let detail: DetailFields? }
        struct HealthDetail: Decodable {
            struct Entity: Decodable { let entityValue: String? }
            let service: String?
            let eventTypeCode: String?
            let eventTypeCategory: String?
            let startTime: String?
            let endTime: String?
            let affectedEntities: [Entity]?
        }
        struct HealthWrapper: Decodable { let detail: HealthDetail? }

        let data = Data(body.utf8)
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            throw AWSError(
                code: .invalidResponse,
                service: "events",
                message: "the message is not an EventBridge event: \(error)"
            )
        }
        let fields: DetailFields?
        do {
            fields = try JSONDecoder().decode(Wrapper.self, from: data).detail
        } catch {
            fields = nil  // a detail of another shape (an .other event) is not ours to read
        }
        func require(_ value: String?, _ name: String) throws -> String {
            guard let value, !value.isEmpty else {
                throw AWSError(
                    code: .invalidResponse,
                    service: "events",
                    message: "'\(envelope.detailType)' event \(envelope.id) has no detail.\(name)"
                )
            }
            return value
        }
        let detail: Detail
        switch envelope.detailType {
        case "EC2 Spot Instance Interruption Warning":
            detail = .spotInterruptionWarning(
                instanceID: try require(fields?.instanceID, "instance-id"),
                action: fields?.action ?? "terminate"
            )
        case "EC2 Instance Rebalance Recommendation":
            detail = .rebalanceRecommendation(instanceID: try require(fields?.instanceID, "instance-id"))
        case "EC2 Instance State-change Notification":
            let state = try require(fields?.state, "state")
            detail = .stateChange(
                instanceID: try require(fields?.instanceID, "instance-id"),
                state: EC2.InstanceStateName(rawValue: state) ?? .unknown
            )
        case "AWS Health Event" where envelope.source == "aws.health":
            let health = try? JSONDecoder().decode(HealthWrapper.self, from: data).detail
            guard let health, health.service == "EC2", health.eventTypeCategory == "scheduledChange" else {
                detail = .other(detailType: envelope.detailType)
                break
            }
            // The affected instances are the entities; events without them name the instances as resources.
            let entities = (health.affectedEntities ?? []).compactMap(\.entityValue)
            let instances = (entities.isEmpty ? (envelope.resources ?? []) : entities).compactMap(Self.instanceID)
            guard !instances.isEmpty else {
                throw AWSError(
                    code: .invalidResponse,
                    service: "events",
                    message: "scheduled change \(envelope.id) names no instance"
                )
            }
            detail = .scheduledChange(
                eventTypeCode: health.eventTypeCode ?? "",
                instanceIDs: instances,
                start: health.startTime.flatMap(Self.parseHealthDate),
                end: health.endTime.flatMap(Self.parseHealthDate)
            )
        default:
            detail = .other(detailType: envelope.detailType)
        }
        return EC2Event(
            id: envelope.id,
            detailType: envelope.detailType,
            source: envelope.source,
            account: envelope.account ?? "",
            region: envelope.region ?? "",
            time: envelope.time.flatMap(EC2.parseDate),
            resources: envelope.resources ?? [],
            detail: detail
        )
    }

    /// An instance id from an entity value or a resource ARN (`arn:aws:ec2:…:instance/i-…`); nil for other
    /// resources (volumes, hosts).
    static func instanceID(_ value: String) -> String? {
        let last = value.split(separator: "/").last.map(String.init) ?? value
        return last.hasPrefix("i-") ? last : nil
    }

    /// AWS Health writes times as RFC 1123 (`Sat, 05 Jun 2027 01:00:00 GMT`); ISO 8601 is accepted as well.
    static func parseHealthDate(_ text: String) -> Date? {
        if let iso = EC2.parseDate(text) { return iso }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
