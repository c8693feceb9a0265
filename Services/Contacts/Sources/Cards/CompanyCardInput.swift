import CRMContracts
import CRMDomain
import CRMEvents

/// A company card as a client sent it, checked and normalised like a contact card.
enum CompanyCardInput {
  static func validate(_ request: Crm_Contacts_V1_CreateCompanyRequest, field prefix: String = "")
    throws(InvalidField) -> Crm_Contacts_V1_Company
  {
    try request.requireKnownFields(prefix.isEmpty ? "request" : String(prefix.dropLast()))
    var card = Crm_Contacts_V1_Company()
    card.name = try Text.field(request.name, prefix + "name", limit: CardLimits.nameLength, required: true)
    card.phones = try Phones.validate(request.phones, field: prefix + "phones")
    card.emails = try Emails.validate(request.emails, field: prefix + "emails")
    card.address = try Text.field(request.address, prefix + "address", limit: CardLimits.textLength, multiline: true)
    card.ownerID = try Text.field(request.ownerID, prefix + "owner_id", limit: CardLimits.nameLength, required: true)
    card.notes = try Text.field(request.notes, prefix + "notes", limit: CardLimits.notesLength, multiline: true)
    card.attributes = try Attributes.validate(request.attributes, field: prefix + "attributes")
    return card
  }
}
