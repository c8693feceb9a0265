import CRMContracts
import CRMMail
import CRMRuntime
import Foundation
import Hummingbird
import ServiceLifecycle

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer,
/// the end-of-day reports (`HygieneSettings`: `CRM_END_OF_DAY`, `CRM_HOLIDAYS`, …), mail
/// (`MailConfiguration`: `CRM_SMTP_URL`, `CRM_SMTP_FROM`, …), and review items for quality
/// control (`ReviewSettings`: `CRM_QC_CODE_KEY`).
public func buildApplication(
  _ configuration: ServiceConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> some ApplicationProtocol {
  // The service's own settings first: a bad one stops it before anything starts.
  let hygiene = try HygieneSettings(environment: environment)
  let smtp = try MailConfiguration.read(EnvironmentReader(environment))
  let birthdays = try BirthdaySettings(environment: environment, companyZone: hygiene.companyZone)
  let review = try ReviewSettings(environment: configuration.environment)
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: ActivityComponents.migrations,
    publishes: [ActivityComponents.eventTopic, ActivityComponents.reviewItemsTopic],
    access: ActivityComponents.access,
    rpcServices: [
      ActivityComponents.rpcService(
        client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, hygiene: hygiene, smtp: smtp,
        review: review)
    ],
    subscriptions: ActivityComponents.subscriptions(logger: logger),
    services: ActivityComponents.services(client: postgres, logger: logger, hygiene: hygiene, smtp: smtp)
      + birthdayRun(birthdays, infrastructure, smtp: smtp)
  )
}

/// The morning birthday run, asking the contacts service as `service:activity` (none with
/// `CRM_BIRTHDAY_TIME=off`).
func birthdayRun(_ settings: BirthdaySettings, _ infrastructure: ServiceInfrastructure, smtp: SMTPSettings?) throws
  -> [any Service]
{
  guard let time = settings.time else { return [] }
  let caller: ServiceCaller
  do {
    caller = try ServiceCaller(infrastructure, calling: .contacts)
  } catch {
    throw ConfigurationError(
      variable: error.variable, problem: error.problem,
      expected: error.expected + " (or CRM_BIRTHDAY_TIME=off: the birthday run is what asks contacts)")
  }
  let run = BirthdayRun(
    repository: PostgresActivityRepository(client: infrastructure.postgres, logger: infrastructure.logger),
    source: ContactsBirthdaySource(contacts: Crm_Contacts_V1_Contacts.Client(wrapping: caller.client)), time: time,
    zone: settings.zone, sender: smtp.map { MailSender(from: $0.from, name: $0.fromName) })
  return [caller, run]
}
