import CRMContracts
import CRMRPC
import GRPCCore

/// `LeadCreating` on the contacts service, called over the broker as `service:activity`
/// (`ServiceCaller`); the request id travels as `crm-request-id`, the key contacts answers
/// repeats by.
struct ContactsLeads: LeadCreating {
  let contacts: Crm_Contacts_V1_Contacts.Client<KafkaClientTransport>

  init(client: GRPCClient<KafkaClientTransport>) {
    contacts = Crm_Contacts_V1_Contacts.Client(wrapping: client)
  }

  func createLead(_ request: Crm_Contacts_V1_CreateLeadRequest, requestID: String) async throws
    -> Crm_Contacts_V1_Lead
  {
    try await contacts.createLead(request, metadata: ["crm-request-id": .string(requestID)])
  }
}
