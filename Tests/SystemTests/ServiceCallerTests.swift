import CRMContracts
import CRMIdentity
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// One service calling another (activity → contacts): as its own principal, `service:activity`,
/// with tokens it signs itself, through the contacts executable's ordinary checks.
@Suite("Service calls: one service calling another as itself")
struct ServiceCallerTests {
  static func configuration(brokers: String, _ changes: [String: String?] = [:]) throws -> ServiceConfiguration {
    var environment = [
      "CRM_DATABASE_URL": LocalStack.databaseURL("activity"), "CRM_KAFKA_BROKERS": brokers,
      "CRM_LOG_LEVEL": "warning",
    ].merging(TestIdentity.environment) { _, added in added }
    for (variable, value) in changes { environment[variable] = value }
    return try ServiceConfiguration(service: .activity, environment: environment)
  }

  @Test func activityCallsContactsAsItselfAndItsRulesHold() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      let broker = try await PrivateBroker()
      let contacts = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
      defer { contacts.signal(SIGKILL) }
      let infrastructure = try ServiceInfrastructure(try Self.configuration(brokers: broker.brokers))
      let caller = try ServiceCaller(infrastructure, calling: .contacts)
      #expect(caller.principal.description == "service:activity")
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await caller.run() }
        defer { caller.client.beginGracefulShutdown() }

        let echo = try await Crm_Common_V1_Diagnostics.Client(wrapping: caller.client).echo(.with { $0.text = "hi" })
        #expect(echo.servedBy == "contacts")
        #expect(echo.caller == "service:activity")

        // A service may make leads (for a manager it names) and read cards...
        let service = Crm_Contacts_V1_Contacts.Client(wrapping: caller.client)
        let lead = try await service.createLead(
          .with {
            $0.name = "Звонок +7 495 123-45-67"
            $0.phone = "+7 495 123-45-67"
            $0.source = "incoming call"
            $0.ownerID = "m-1"
          })
        #expect(lead.ownerID == "m-1")
        #expect(lead.phone == "+74951234567")
        // ...but not the changes only people make.
        await #expect {
          _ = try await service.rejectLead(
            .with {
              $0.leadID = lead.id
              $0.reason = "spam"
            })
        } throws: { error in
          (error as? RPCError)?.code == .permissionDenied
        }
      }
    }
  }

  @Test func aServiceWithoutItsSigningKeyIsToldWhichVariable() throws {
    let unset = try Self.configuration(brokers: LocalStack.kafkaBrokers, ["CRM_SERVICE_SIGNING_KEY_FILE": nil])
    #expect(throws: ConfigurationError.self) { try unset.serviceTokenIssuer() }
    do {
      _ = try unset.serviceTokenIssuer()
    } catch {
      #expect(error.variable == "CRM_SERVICE_SIGNING_KEY_FILE")
      #expect("\(error)".contains("is not set"))
    }
    let unreadable = try Self.configuration(
      brokers: LocalStack.kafkaBrokers, ["CRM_SERVICE_SIGNING_KEY_FILE": "/nonexistent/key.pem"])
    do {
      _ = try unreadable.serviceTokenIssuer()
      Issue.record("a missing key file was accepted")
    } catch {
      #expect(error.variable == "CRM_SERVICE_SIGNING_KEY_FILE")
      #expect("\(error)".contains("/nonexistent/key.pem"))
    }
  }
}
