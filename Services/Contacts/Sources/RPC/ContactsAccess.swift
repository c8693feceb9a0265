import CRMIdentity

/// Who may call which contacts method (object-level rules — a manager changes only the cards
/// he owns — are checked by the handlers and the repository against the stored owner).
enum ContactsAccess {
  static let service = "crm.contacts.v1.Contacts/"
  static let readers = AccessPolicy.salesStaff
  static let writers: Set<Role> = [.operator, .headOfSales, .manager]
  static let reads = "cards are read by the sales department and the CRM's services, not by quality-control"
  static let writes = "cards are changed by managers (their own) and heads of sales"
  /// Leads also come from the CRM's services (activity: an unknown caller becomes a lead).
  static let leadMakers = writers.union([.service])
  static let makesLeads = "leads are created by managers, heads of sales and the CRM's services"

  static let policy = AccessPolicy(
    Dictionary(
      uniqueKeysWithValues: [
        "ListLeads", "GetContact", "GetCompany", "GetCardHistory", "SearchContacts", "ListBirthdays",
      ].map { (service + $0, AccessPolicy.Rule(readers, reads)) }
        + [
          "RejectLead", "ConvertLead", "CreateContact", "UpdateContact", "ArchiveContact",
          "CreateCompany", "UpdateCompany",
        ].map { (service + $0, AccessPolicy.Rule(writers, writes)) }
        + [(service + "CreateLead", AccessPolicy.Rule(leadMakers, makesLeads))]))
}
