import CRMContracts
import CRMTestSupport
import Foundation
import Testing
import Yams

/// The production broker's ACL file (deploy/kafka/acls.yaml) against DESIGN §2's table of who
/// publishes and consumes what, and the script that applies it. The local broker (Tansu)
/// enforces no ACLs, so this file is what keeps the production broker's promises.
@Suite("Broker ACLs per service principal")
struct BrokerACLTests {
  typealias Grants = (produce: Set<String>, consume: Set<String>, groups: Set<String>)

  static func acls() throws -> [String: Grants] {
    let text = try String(
      contentsOf: LocalStack.repositoryRoot.appendingPathComponent("deploy/kafka/acls.yaml"), encoding: .utf8)
    let file = try #require(try Yams.load(yaml: text) as? [String: [String: [String]]])
    return file.mapValues { (Set($0["produce"] ?? []), Set($0["consume"] ?? []), Set($0["groups"] ?? [])) }
  }

  /// DESIGN §2: the event topics each service consumes.
  static let consumes: [String: Set<String>] = [
    "contacts": [],
    "deals": [EventTopics.contacts],
    "activity": [EventTopics.contacts, EventTopics.deals],
    "quality-control": [EventTopics.qcReviewItems],
    "reporting": [EventTopics.contacts, EventTopics.deals, EventTopics.activity, EventTopics.qualityControl],
  ]
  static let eventTopics: Set<String> = [
    EventTopics.contacts, EventTopics.deals, EventTopics.activity, EventTopics.qualityControl,
    EventTopics.qcReviewItems,
  ]

  @Test func everyServiceWritesItsOwnTopicsAndReadsWhatDesignSaysOnly() throws {
    let acls = try Self.acls()
    #expect(Set(acls.keys) == Set(Self.consumes.keys))
    for (service, grants) in acls {
      // Publishes exactly the event topics it owns (the catalogue's owners).
      let owned = Self.eventTopics.filter { EventTopics.producer(of: $0) == service }
      #expect(grants.produce.intersection(Self.eventTopics) == owned, "\(service) writes \(grants.produce)")
      // Consumes exactly DESIGN §2's event topics, plus its own request topic.
      #expect(grants.consume.intersection(Self.eventTopics) == Self.consumes[service], "\(service)")
      #expect(grants.consume.contains("crm.rpc.\(service)"), "\(service) serves its requests")
      #expect(grants.groups.contains("crm.rpc.\(service)"), "\(service)'s RPC group")
      // Reads no other service's requests and no one else's replies.
      for other in Self.consumes.keys where other != service {
        #expect(!grants.consume.contains("crm.rpc.\(other)"), "\(service) reads \(other)'s requests")
      }
      #expect(!grants.consume.contains("crm.rpc.reply.*"), "\(service) reads every caller's replies")
      #expect(!grants.consume.contains { $0.hasPrefix("crm.dlq.") }, "\(service) reads dead letters")
    }
  }

  /// DESIGN §6: quality-control reads review items and its own RPC topic, nothing else, and
  /// calls no one.
  @Test func qualityControlReadsExactlyItsList() throws {
    let qc = try #require(try Self.acls()["quality-control"])
    #expect(qc.consume == ["crm.rpc.quality-control", "crm.qc.review-items"])
    #expect(
      qc.groups.allSatisfy { $0.hasPrefix("crm.rpc.quality-control") || $0.hasPrefix("crm.inbox.quality-control-") })
    #expect(!qc.produce.contains { $0.hasPrefix("crm.rpc.") && !$0.hasPrefix("crm.rpc.reply.") })
  }

  /// The script turns the file into Kafka's own commands: a user per service, each grant as an
  /// ACL (prefixes as prefixed patterns). Run against stand-ins of Kafka's tools that echo.
  @Test func theScriptAppliesEveryGrant() async throws {
    let bin = FileManager.default.temporaryDirectory.appendingPathComponent("fake-kafka-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: bin) }
    for tool in ["kafka-broker-api-versions.sh", "kafka-configs.sh", "kafka-acls.sh"] {
      let path = bin.appendingPathComponent(tool).path
      let created = FileManager.default.createFile(
        atPath: path, contents: Data("#!/bin/sh\necho \"\(tool) $*\"\n".utf8), attributes: [.posixPermissions: 0o755])
      try #require(created, "cannot write \(path)")
    }
    var environment = [
      "PATH": "/usr/bin:/bin", "KAFKA_BIN": bin.path,
      "ACLS": LocalStack.repositoryRoot.appendingPathComponent("deploy/kafka/acls.yaml").path,
    ]
    for service in Self.consumes.keys {
      environment["CRM_KAFKA_\(service.replacingOccurrences(of: "-", with: "_").uppercased())_PASSWORD"] =
        "pw-\(service)"
    }
    let script = try ChildProcess(
      LocalStack.repositoryRoot.appendingPathComponent("deploy/kafka/apply-acls"), environment: environment)
    #expect(try await script.waitForExit(within: .seconds(30)) == 0, "\(script.standardError)")
    let lines = script.standardOutput.split(separator: "\n").map(String.init)
    for (service, grants) in try Self.acls() {
      #expect(lines.contains { $0.contains("--entity-name \(service)") && $0.contains("password=pw-\(service)") })
      let mine = lines.filter { $0.contains("--allow-principal User:\(service) ") }
      for topic in grants.consume {
        let pattern =
          topic.hasSuffix("*")
          ? "--topic \(topic.dropLast()) --resource-pattern-type prefixed"
          : "--topic \(topic) --resource-pattern-type literal"
        #expect(mine.contains { $0.contains("--operation Read") && $0.contains(pattern) }, "\(service) reads \(topic)")
      }
      for topic in grants.produce {
        let pattern =
          topic.hasSuffix("*")
          ? "--topic \(topic.dropLast()) --resource-pattern-type prefixed"
          : "--topic \(topic) --resource-pattern-type literal"
        #expect(
          mine.contains { $0.contains("--operation Write") && $0.contains(pattern) }, "\(service) writes \(topic)")
      }
      #expect(mine.filter { $0.contains("--operation Read") && $0.contains("--topic") }.count == grants.consume.count)
    }
  }
}
