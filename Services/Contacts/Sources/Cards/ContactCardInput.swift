import CRMContracts
import CRMDomain
import CRMEvents
import CRMPhoneNumbers
import Foundation

/// A contact card as a client sent it, checked and normalised: phones in E.164, e-mails
/// lower-case, texts trimmed. The result is the card's content without id, version and dates.
enum ContactCardInput {
  static func validate(_ request: Crm_Contacts_V1_CreateContactRequest, field prefix: String = "")
    throws(InvalidField) -> Crm_Contacts_V1_Contact
  {
    try request.requireKnownFields(prefix.isEmpty ? "request" : String(prefix.dropLast()))
    var card = Crm_Contacts_V1_Contact()
    card.name = try Text.field(request.name, prefix + "name", limit: CardLimits.nameLength, required: true)
    card.phones = try Phones.validate(request.phones, field: prefix + "phones")
    card.emails = try Emails.validate(request.emails, field: prefix + "emails")
    card.position = try Text.field(request.position, prefix + "position", limit: CardLimits.textLength)
    card.address = try Text.field(request.address, prefix + "address", limit: CardLimits.textLength, multiline: true)
    if request.hasBirthday { card.birthday = try Birthday.validate(request.birthday, field: prefix + "birthday") }
    card.ownerID = try Text.field(request.ownerID, prefix + "owner_id", limit: CardLimits.nameLength, required: true)
    card.notes = try Text.field(request.notes, prefix + "notes", limit: CardLimits.notesLength, multiline: true)
    guard request.tags.count <= CardLimits.listLength else {
      throw InvalidField(
        field: prefix + "tags", reason: "has \(request.tags.count) tags; at most \(CardLimits.listLength)")
    }
    var tags: [String] = []
    for (index, tag) in request.tags.enumerated() {
      let tag = try Text.field(tag, prefix + "tags[\(index)]", limit: CardLimits.nameLength, required: true)
      if !tags.contains(tag) { tags.append(tag) }
    }
    card.tags = tags
    card.attributes = try Attributes.validate(request.attributes, field: prefix + "attributes")
    guard request.companies.count <= CardLimits.listLength else {
      throw InvalidField(field: prefix + "companies", reason: "at most \(CardLimits.listLength) companies")
    }
    var seen = Set<String>()
    for (index, membership) in request.companies.enumerated() {
      let field = prefix + "companies[\(index)]"
      try membership.requireKnownFields(field)
      guard UUID(uuidString: membership.companyID) != nil else {
        throw InvalidField(
          field: field + ".company_id", reason: "\(Text.quoted(membership.companyID)) is not a company id")
      }
      guard seen.insert(membership.companyID.lowercased()).inserted else {
        throw InvalidField(field: field + ".company_id", reason: "names company \(membership.companyID) twice")
      }
      var normalized = Crm_Contacts_V1_CompanyMembership()
      normalized.companyID = membership.companyID.lowercased()
      normalized.role = try Text.field(membership.role, field + ".role", limit: CardLimits.nameLength)
      card.companies.append(normalized)
    }
    return card
  }
}

enum Phones {
  static func validate(_ phones: [Crm_Contacts_V1_Phone], field: String) throws(InvalidField) -> [Crm_Contacts_V1_Phone]
  {
    guard phones.count <= CardLimits.listLength else {
      throw InvalidField(field: field, reason: "has \(phones.count) numbers; at most \(CardLimits.listLength)")
    }
    var result: [Crm_Contacts_V1_Phone] = []
    for (index, phone) in phones.enumerated() {
      try phone.requireKnownFields("\(field)[\(index)]")
      guard let number = PhoneNumber.e164(phone.number) else {
        throw InvalidField(
          field: "\(field)[\(index)].number", reason: "\(Text.quoted(phone.number)) is not a phone number")
      }
      guard !result.contains(where: { $0.number == number }) else { continue }
      var normalized = Crm_Contacts_V1_Phone()
      normalized.number = number
      normalized.label = try Text.field(phone.label, "\(field)[\(index)].label", limit: CardLimits.nameLength)
      result.append(normalized)
    }
    return result
  }
}

enum Emails {
  static func validate(_ emails: [Crm_Contacts_V1_Email], field: String) throws(InvalidField) -> [Crm_Contacts_V1_Email]
  {
    guard emails.count <= CardLimits.listLength else {
      throw InvalidField(field: field, reason: "has \(emails.count) addresses; at most \(CardLimits.listLength)")
    }
    var result: [Crm_Contacts_V1_Email] = []
    for (index, email) in emails.enumerated() {
      try email.requireKnownFields("\(field)[\(index)]")
      guard let address = EmailAddress.normalized(email.address) else {
        throw InvalidField(
          field: "\(field)[\(index)].address", reason: "\(Text.quoted(email.address)) is not an e-mail address")
      }
      guard !result.contains(where: { $0.address == address }) else { continue }
      var normalized = Crm_Contacts_V1_Email()
      normalized.address = address
      normalized.label = try Text.field(email.label, "\(field)[\(index)].label", limit: CardLimits.nameLength)
      result.append(normalized)
    }
    return result
  }
}

enum Attributes {
  static func validate(_ attributes: [String: String], field: String) throws(InvalidField) -> [String: String] {
    guard attributes.count <= CardLimits.listLength else {
      throw InvalidField(field: field, reason: "has \(attributes.count) entries; at most \(CardLimits.listLength)")
    }
    var result: [String: String] = [:]
    for (key, value) in attributes {
      let key = try Text.field(key, "\(field) key", limit: CardLimits.nameLength, required: true)
      result[key] = try Text.field(value, "\(field)[\(key)]", limit: CardLimits.textLength, multiline: true)
    }
    return result
  }
}

enum Birthday {
  static let calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar
  }()

  /// Whether the day exists in the Gregorian calendar (29 February only in leap years).
  static func exists(year: Int32, month: Int32, day: Int32) -> Bool {
    // Ranges first: the calendar is not asked about year 2,147,483,647.
    guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return false }
    return DateComponents(year: Int(year), month: Int(month), day: Int(day)).isValidDate(in: calendar)
  }

  /// Whether the birthdays of `date` include those born on 29 February: on 28 February of a
  /// year without a 29th.
  static func includesLeapDayBirths(_ date: Crm_Common_V1_Date) -> Bool {
    date.month == 2 && date.day == 28 && !exists(year: date.year, month: 2, day: 29)
  }

  /// A real calendar date, not in the future, from 1900 on.
  static func validate(_ date: Crm_Common_V1_Date, field: String) throws(InvalidField) -> Crm_Common_V1_Date {
    try date.requireKnownFields(field)
    guard date.year >= 1900, exists(year: date.year, month: date.month, day: date.day) else {
      throw InvalidField(field: field, reason: "\(date.year)-\(date.month)-\(date.day) is not a date from 1900 on")
    }
    let today = calendar.dateComponents([.year, .month, .day], from: Date())
    let given = (Int(date.year), Int(date.month), Int(date.day))
    guard given <= (today.year!, today.month!, today.day!) else {
      throw InvalidField(field: field, reason: "\(date.year)-\(date.month)-\(date.day) is in the future")
    }
    return date
  }

  /// `yyyy-mm-dd`, PostgreSQL's date literal.
  static func text(_ date: Crm_Common_V1_Date) -> String {
    String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
  }
}
