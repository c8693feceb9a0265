import CRMContracts
import CRMRPC
import Foundation

/// What the lead → deal system tests start from: a pipeline a head of sales defined on a
/// business line of its own, and a website lead of `owner` created and converted into it.
public struct LeadConversion: Sendable {
  public var pipeline: Crm_Deals_V1_Pipeline
  public var lead: Crm_Contacts_V1_Lead
  public var converted: Crm_Contacts_V1_ConvertLeadReply

  /// `stages`: names and default probabilities, in order.
  public static func run(
    lead name: String, owner: String, line: String, pipeline title: String, stages: [(String, Int32)],
    contacts: Crm_Contacts_V1_Contacts.Client<KafkaClientTransport>,
    headOfSales: Crm_Deals_V1_Deals.Client<KafkaClientTransport>
  ) async throws -> LeadConversion {
    let pipeline = try await headOfSales.definePipeline(
      .with {
        $0.businessLine = "\(line)-\(UUID().uuidString.prefix(8))"
        $0.name = title
        $0.stages = stages.map { name, probability in
          .with {
            $0.name = name
            $0.result = "\(name) done"
            $0.defaultProbability = probability
          }
        }
      })
    let lead = try await contacts.createLead(
      .with {
        $0.name = name
        $0.email = "lead-\(UUID().uuidString.prefix(8))@example.com"
        $0.source = "website"
        $0.ownerID = owner
        $0.businessLine = pipeline.businessLine
      })
    let converted = try await contacts.convertLead(
      .with {
        $0.leadID = lead.id
        $0.pipelineID = pipeline.id
        $0.expectedVersion = lead.version
      })
    return LeadConversion(pipeline: pipeline, lead: lead, converted: converted)
  }
}
