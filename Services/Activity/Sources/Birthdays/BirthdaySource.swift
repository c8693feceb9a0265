import CRMContracts
import GRPCCore

/// Who has a birthday on a day: the contacts service (`ListBirthdays`), or a fake in tests.
protocol BirthdaySource: Sendable {
  func birthdays(on day: CalendarDay) async throws -> [Crm_Contacts_V1_Contact]
}

/// The contacts service, called as `service:activity` (`ServiceCaller`).
struct ContactsBirthdaySource<Transport: ClientTransport>: BirthdaySource {
  let contacts: Crm_Contacts_V1_Contacts.Client<Transport>

  func birthdays(on day: CalendarDay) async throws -> [Crm_Contacts_V1_Contact] {
    try await contacts.listBirthdays(
      .with {
        $0.date = .with {
          $0.year = Int32(day.year)
          $0.month = Int32(day.month)
          $0.day = Int32(day.day)
        }
      }
    ).contacts
  }
}
