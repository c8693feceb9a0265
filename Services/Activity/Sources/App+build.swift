import CRMRuntime
import Foundation
import Hummingbird

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer, and
/// the end-of-day reports (`HygieneSettings`: `CRM_END_OF_DAY`, `CRM_HOLIDAYS`, …), and review
/// items for quality control (`ReviewSettings`: `CRM_QC_CODE_KEY`).
public func buildApplication(
  _ configuration: ServiceConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> some ApplicationProtocol {
  let hygiene = try HygieneSettings(environment: environment)
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
        client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, hygiene: hygiene,
        review: review)
    ],
    subscriptions: ActivityComponents.subscriptions(logger: logger),
    services: ActivityComponents.services(client: postgres, logger: logger, hygiene: hygiene)
  )
}
