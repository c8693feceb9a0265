import CRMContracts
import CRMMail
import CRMRuntime
import Foundation
import Hummingbird
import ServiceLifecycle

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer,
/// the end-of-day reports (`HygieneSettings`: `CRM_END_OF_DAY`, `CRM_HOLIDAYS`, …), mail
/// (`MailConfiguration`: `CRM_SMTP_URL`, `CRM_SMTP_FROM`, …), the morning birthday run, the
/// telephony and mail webhooks with the worker that asks contacts for unknown callers' leads, and
/// review items for quality control (`ReviewSettings`: `CRM_QC_CODE_KEY`).
public func buildApplication(
  _ configuration: ServiceConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> some ApplicationProtocol {
  // The service's own settings first: a bad one stops it before anything starts.
  let hygiene = try HygieneSettings(environment: environment)
  let smtp = try MailConfiguration.read(EnvironmentReader(environment))
  let birthdays = try BirthdaySettings(environment: environment, companyZone: hygiene.companyZone)
  let webhooks = try WebhookSettings(environment: environment)
  let review = try ReviewSettings(environment: configuration.environment)
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  let wake = WakeSignal()
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
    routes: { router in
      ActivityComponents.webhookRoutes(settings: webhooks, client: postgres, logger: logger, wake: wake)
        .addRoutes(to: router)
    },
    services: ActivityComponents.services(client: postgres, logger: logger, hygiene: hygiene, smtp: smtp)
      + (try contactsCallers(infrastructure, birthdays: birthdays, webhooks: webhooks, smtp: smtp, wake: wake))
  )
}

/// What asks the contacts service, as `service:activity` through one client: the morning
/// birthday run (none with `CRM_BIRTHDAY_TIME=off`) and the unknown callers' leads (only when the
/// webhooks have their secret). Either needs `CRM_SERVICE_SIGNING_KEY_FILE`.
func contactsCallers(
  _ infrastructure: ServiceInfrastructure, birthdays: BirthdaySettings, webhooks: WebhookSettings,
  smtp: SMTPSettings?, wake: WakeSignal
) throws -> [any Service] {
  guard birthdays.time != nil || webhooks.secret != nil else { return [] }
  let caller: ServiceCaller
  do {
    caller = try ServiceCaller(infrastructure, calling: .contacts)
  } catch {
    throw ConfigurationError(
      variable: error.variable, problem: error.problem,
      expected: error.expected
        + " (or CRM_BIRTHDAY_TIME=off and no CRM_WEBHOOK_SECRET: the birthday run and the unknown callers'"
        + " leads are what ask contacts)")
  }
  let repository = PostgresActivityRepository(client: infrastructure.postgres, logger: infrastructure.logger)
  var services: [any Service] = [caller]
  if let time = birthdays.time {
    services.append(
      BirthdayRun(
        repository: repository,
        source: ContactsBirthdaySource(contacts: Crm_Contacts_V1_Contacts.Client(wrapping: caller.client)), time: time,
        zone: birthdays.zone, sender: smtp.map { MailSender(from: $0.from, name: $0.fromName) }))
  }
  if webhooks.secret != nil {
    services.append(
      ActivityComponents.unknownCallers(
        settings: webhooks, leads: ContactsLeads(client: caller.client), client: infrastructure.postgres,
        logger: infrastructure.logger, wake: wake))
  }
  return services
}
