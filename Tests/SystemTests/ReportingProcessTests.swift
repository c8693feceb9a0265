import CRMContracts
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The reporting executable beside contacts and deals on one broker: a lead converted into a
/// deal, and that deal moved through the deals RPC, show in reporting's funnel and lead funnel
/// through the events alone; `crmctl reporting RebuildProjections` rebuilds them to the same.
@Suite("Reporting executable")
struct ReportingProcessTests {
  static let logger = Logger(label: "reporting-process-test")

  @Test func aDealOpenedAndMovedShowsInTheFunnel() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { _, dealsSchema in
        try await TestSchema.with(database: "reporting") { _, reportingSchema in
          try await run(contacts: contactsSchema, deals: dealsSchema, reporting: reportingSchema)
        }
      }
    }
  }

  func run(contacts contactsSchema: String, deals dealsSchema: String, reporting reportingSchema: String) async throws {
    let broker = try await PrivateBroker()
    // As deployed: the runtime role owns nothing (the rebuild must make do with its grants).
    let reportingProcess = try await ServiceProcess.start(
      "reporting", brokers: broker.brokers, schema: reportingSchema,
      environment: [
        "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL("reporting") + "&search_path=\(reportingSchema)",
        "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL("reporting") + "&search_path=\(reportingSchema)",
      ])
    defer { reportingProcess.signal(SIGKILL) }
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
    defer { contactsProcess.signal(SIGKILL) }
    let dealsProcess = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: dealsSchema)
    defer { dealsProcess.signal(SIGKILL) }

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "reporting-process-test")
    func client(_ service: String, as principal: String) -> GRPCClient<KafkaClientTransport> {
      TestIdentity.kafkaClient(kafka, service: service, as: principal, logger: Self.logger)
    }
    let clients = [
      client("contacts", as: "manager:manager-9"), client("deals", as: "manager:manager-9"),
      client("deals", as: "head_of_sales:head-1"), client("reporting", as: "head_of_sales:head-1"),
      client("reporting", as: "manager:manager-9"),
    ]
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: clients[0])
      let deals = Crm_Deals_V1_Deals.Client(wrapping: clients[1])
      let reporting = Crm_Reporting_V1_Reporting.Client(wrapping: clients[3])
      let managersReporting = Crm_Reporting_V1_Reporting.Client(wrapping: clients[4])

      let run = try await LeadConversion.run(
        lead: "Отчёт Лидович", owner: "manager-9", line: "reports", pipeline: "Report sales",
        stages: [("Request", 10), ("Proposal", 40), ("Contract", 80)], contacts: contacts,
        headOfSales: Crm_Deals_V1_Deals.Client(wrapping: clients[2]))
      let stages = run.pipeline.stages.map(\.id)
      let deal = try await eventually("the converted lead's deal") {
        try? await deals.listOpenDealsOfContact(.with { $0.contactID = run.converted.contact.id }).deals.first
      }
      _ = try await deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = stages[2]
          $0.expectedVersion = deal.version
        })

      // Through the events only: the deal left the first stage, passed over the second.
      let funnel = try await eventually("the move in reporting's funnel") {
        () async throws -> Crm_Reporting_V1_GetFunnelReply? in
        guard let funnel = try? await reporting.getFunnel(.with { $0.pipelineID = run.pipeline.id }),
          funnel.rows.contains(where: { $0.team && $0.stageID == stages[2] && $0.entered == 1 })
        else { return nil }
        return funnel
      }
      let first = try #require(funnel.rows.first { $0.team && $0.stageID == stages[0] })
      #expect(first.entered == 1 && first.advanced == 1 && first.conversionToNext.value == 1)
      #expect(funnel.rows.first { $0.team && $0.stageID == stages[1] }?.skipped == 1)
      #expect(funnel.rows.contains { $0.ownerID == "manager-9" && $0.stageID == stages[0] })

      let leads = try await managersReporting.getLeadFunnel(.with { $0.businessLine = run.pipeline.businessLine })
      let website = try #require(leads.rows.first { $0.source == "website" && $0.ownerID == "manager-9" })
      #expect(website.leads == 1 && website.converted == 1)

      // The operators' command: every projection again from the stored events, the same funnel.
      func crmctl(as principal: String) async throws -> (status: Int32?, output: String) {
        let child = try ChildProcess(
          LocalStack.binDirectory.appendingPathComponent("crmctl"),
          arguments: [
            "reporting", "RebuildProjections", "--brokers", broker.brokers, "--as", principal, "--json", "{}",
          ],
          environment: TestIdentity.crmctlEnvironment)
        let status = try await child.waitForExit(within: .seconds(30))
        return (status, child.standardOutput + child.standardError)
      }
      let denied = try await crmctl(as: "manager:manager-9")
      #expect(denied.status == 7, "PERMISSION_DENIED: \(denied.output)")
      let rebuilt = try await crmctl(as: "operator:crmctl")
      #expect(rebuilt.status == 0 && rebuilt.output.contains("\"projected\""), "\(rebuilt.output)")
      let again = try await reporting.getFunnel(.with { $0.pipelineID = run.pipeline.id })
      #expect(again == funnel)
    }
  }
}
