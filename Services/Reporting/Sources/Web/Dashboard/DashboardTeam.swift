import CRMContracts
import Foundation

/// End-of-day violations per manager with their weekly trend, card completeness, QC scores.
struct TeamSection: Sendable, Hashable {
  struct Discipline: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var days: String
    var violations: String
    var perDay: String
    var unprocessed: String
    var withoutTask: String
    var overdue: String
    var trend: String
    var weeks: ChartColumns
  }

  struct Completeness: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var contacts: String
    var contactShare: String
    var contactBar: ChartBar
    var mandatoryOnly: String
    var deals: String
    var dealShare: String
    var dealBar: ChartBar
  }

  struct Quality: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var reviews: String
    var items: String
    var score: String
    var scoreBar: ChartBar
    var logged: String
    var coverage: String
    var buckets: String
  }

  var discipline: [Discipline]
  var completeness: [Completeness]
  var quality: [Quality]
}

extension Dashboard {
  func team(_ context: DashboardContext) async throws -> TeamSection {
    let period = self.period(context)
    let manager = context.filters.managerID ?? ""
    async let discipline = reports.call(Method.GetDiscipline.descriptor, as: context.person) { service, server in
      try await service.getDiscipline(
        request: .with {
          if let period { $0.period = period }
          $0.managerID = manager
        }, context: server)
    }
    async let cards = reports.call(Method.GetCardCompleteness.descriptor, as: context.person) { service, server in
      try await service.getCardCompleteness(request: .with { $0.managerID = manager }, context: server)
    }
    let quality = try await reports.call(Method.GetQualityScores.descriptor, as: context.person) { service, server in
      try await service.getQualityScores(
        request: .with {
          if let period { $0.period = period }
          $0.managerID = manager
          $0.bucket = .week
        }, context: server)
    }
    return TeamSection(
      discipline: try await discipline.managers.filter { context.shows($0.managerID, team: $0.team) }.map {
        Self.discipline($0, context)
      },
      completeness: try await cards.managers.filter { context.shows($0.managerID, team: $0.team) }.map { row in
        TeamSection.Completeness(
          owner: DashboardContext.ownerKey(row.managerID, team: row.team),
          who: context.who(row.managerID, team: row.team), team: row.team,
          contacts: RussianFormat.integer(row.contacts),
          contactShare: row.contactFieldsTotal == 0 ? "—" : RussianFormat.percent(row.contactShare),
          contactBar: ChartBar(row.contactShare, label: "заполнено полей контактов"),
          mandatoryOnly: RussianFormat.integer(row.mandatoryOnlyContacts), deals: RussianFormat.integer(row.deals),
          dealShare: row.dealFieldsTotal == 0 ? "—" : RussianFormat.percent(row.dealShare),
          dealBar: ChartBar(row.dealShare, label: "заполнено полей сделок"))
      },
      quality: quality.reps.filter { context.shows($0.managerID, team: $0.team) }.map { rep in
        TeamSection.Quality(
          owner: rep.team ? "team" : rep.managerID.isEmpty ? "code:" + rep.repCode : rep.managerID,
          who: rep.team
            ? "Команда" : rep.managerID.isEmpty ? "код \(rep.repCode)" : context.who(rep.managerID, team: false),
          team: rep.team, reviews: RussianFormat.integer(rep.reviews), items: RussianFormat.integer(rep.itemsReviewed),
          score: rep.reviews == 0 ? "—" : RussianFormat.decimal(rep.meanScore, digits: 1),
          scoreBar: ChartBar(rep.meanScore, scale: 100, label: "средняя оценка"),
          logged: RussianFormat.integer(rep.reportsLogged),
          coverage: rep.reportsLogged == 0 ? "—" : RussianFormat.percent(rep.coverage),
          buckets: rep.buckets.map {
            "\(RussianFormat.date($0.start.date, in: context.zone)): \(RussianFormat.decimal($0.meanScore, digits: 1))"
          }.joined(separator: "; "))
      })
  }

  static func discipline(_ row: Crm_Reporting_V1_GetDisciplineReply.Manager, _ context: DashboardContext)
    -> TeamSection.Discipline
  {
    let counts = row.counts
    let trend =
      row.weeks.count < 2
      ? "—"
      : (row.trendPerWeek < 0 ? "↓ " : row.trendPerWeek > 0 ? "↑ " : "")
        + RussianFormat.decimal(row.trendPerWeek, digits: 2) + " в неделю"
    return TeamSection.Discipline(
      owner: DashboardContext.ownerKey(row.managerID, team: row.team), who: context.who(row.managerID, team: row.team),
      team: row.team, days: RussianFormat.integer(counts.days), violations: RussianFormat.integer(counts.violations),
      perDay: counts.days == 0 ? "—" : RussianFormat.decimal(counts.violationsPerDay, digits: 2),
      unprocessed: RussianFormat.integer(counts.unprocessedDeals),
      withoutTask: RussianFormat.integer(counts.dealsWithoutOpenTask),
      overdue: RussianFormat.integer(counts.dealsWithOverdueTask), trend: trend,
      weeks: ChartColumns(
        row.weeks.map {
          (
            "неделя с \(RussianFormat.date($0.start.date, in: context.zone)): "
              + RussianFormat.decimal($0.counts.violationsPerDay, digits: 2),
            $0.counts.violationsPerDay
          )
        }, label: "нарушения в день по неделям"))
  }
}
